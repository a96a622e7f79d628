"""The local store's own guarantees, and the conformance kit run against the local and memory stores."""

from __future__ import annotations

import json
import os
import stat
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dbsnap.exceptions import SnapshotExistsError, SnapshotNotFound, StoreError
from dbsnap.manifest import Snapshot
from dbsnap.stores.local import LocalMedium
from dbsnap.stores.store import Store
from dbsnap.stores.temps import parse_temp, temp_name
from dbsnap.testing.storekit import StoreKit

TOKEN = "ab12cd34ef56"

WHEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def template(name: str, data: bytes = b"payload") -> Snapshot:
    import hashlib

    return Snapshot(
        name=name,
        database="app",
        driver="sqlite",
        created_at=WHEN,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        codec="none",
    )


def local(path: str) -> Store:
    return Store(LocalMedium(path))


def write(store: Store, name: str, data: bytes = b"payload", token: str = TOKEN) -> Snapshot:
    with store.writing(name, token) as pending:
        pending.file.write(data)
        return pending.commit(template(name, data))


def test_commit_leaves_payload_and_manifest_private(tmp_path: Path) -> None:
    (tmp_path / "deep").mkdir()
    store = local(str(tmp_path / "deep" / "backups"))
    write(store, "a.bin")
    root = tmp_path / "deep" / "backups"
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert sorted(p.name for p in root.iterdir()) == ["a.bin", "a.bin.manifest.json"]
    for path in root.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [s.name for s in store.snapshots()] == ["a.bin"]


def test_an_uncommitted_payload_leaves_nothing(tmp_path: Path) -> None:
    store = local(str(tmp_path))

    def failing_dump() -> None:
        with store.writing("a.bin", TOKEN) as pending:
            pending.file.write(b"half")
            raise RuntimeError("dump failed")

    with pytest.raises(RuntimeError):
        failing_dump()
    assert list(tmp_path.iterdir()) == []


def test_an_existing_name_is_never_overwritten(tmp_path: Path) -> None:
    store = local(str(tmp_path))
    write(store, "a.bin", b"first")
    with pytest.raises(SnapshotExistsError):
        write(store, "a.bin", b"second")
    assert (tmp_path / "a.bin").read_bytes() == b"first"


def test_a_name_taken_during_the_dump_gets_the_next_default_name(tmp_path: Path) -> None:
    store = local(str(tmp_path))
    with store.writing("a.bin", TOKEN) as pending:
        pending.file.write(b"late")
        write(store, "a.bin", b"early", token="0" * 12)  # another run
        snap = pending.commit(template("a.bin", b"late"), rename=lambda n: f"a-{n}.bin")
    assert snap.name == "a-1.bin"
    assert (tmp_path / "a.bin").read_bytes() == b"early"
    assert {s.name for s in store.snapshots()} == {"a.bin", "a-1.bin"}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_payload_without_manifest_is_not_listed(tmp_path: Path) -> None:
    store = local(str(tmp_path))
    (tmp_path / "orphan.sqlite.zst").write_bytes(b"x")
    assert store.snapshots() == []
    with pytest.raises(SnapshotNotFound):
        store.get("orphan.sqlite.zst")


def test_wrong_sized_payload_is_not_listed(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = local(str(tmp_path))
    write(store, "a.bin")
    (tmp_path / "a.bin").write_bytes(b"truncated")
    assert store.snapshots() == []
    assert "Database backup" in caplog.text


def test_delete_removes_manifest_then_payload(tmp_path: Path) -> None:
    store = local(str(tmp_path))
    snap = write(store, "a.bin")
    store.delete(snap, TOKEN)
    assert list(tmp_path.iterdir()) == []


def test_sweep_removes_only_leftovers_of_runs_that_are_gone(tmp_path: Path) -> None:
    store = local(str(tmp_path))
    write(store, "keep.bin")
    dead, live = "0badc0ffee00", "11ve11ve11ve"
    stale_payload = tmp_path / temp_name("gone.bin", dead)
    stale_payload.write_bytes(b"x")
    young = tmp_path / temp_name("young.bin", dead)
    young.write_bytes(b"x")
    # A live run's payload, hours old (its dump waits on a table lock): its lock beats, so it stays.
    running = tmp_path / temp_name("busy.bin", live)
    running.write_bytes(b"x")
    lock = tmp_path / ".busy.dbsnap-lock"
    lock.write_text(
        json.dumps({"host": "elsewhere", "pid": 1, "started": "2026-01-01T00:00:00+00:00", "token": live})
    )
    # A crash after the payload's rename but before the manifest's: the temporary manifest
    # proves dbsnap wrote the payload, so the sweep removes both.
    (tmp_path / "crashed.bin").write_bytes(b"x")
    (tmp_path / temp_name("crashed.bin.manifest.json", dead)).write_text("{}")
    (tmp_path / "users-own-file.txt").write_text("not ours")
    (tmp_path / ".users-own.x.dbsnap-tmp").write_text("not one of dbsnap's names")
    old = time.time() - 7200
    for path in tmp_path.iterdir():
        if path not in (young, lock):
            os.utime(path, (old, old))
    swept = store.sweep(timedelta(hours=1))
    assert stale_payload.name in swept
    assert "crashed.bin" in swept
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(
        ["keep.bin", "keep.bin.manifest.json", young.name, running.name, lock.name, "users-own-file.txt",
         ".users-own.x.dbsnap-tmp"]
    )  # fmt: skip


def test_temp_names_are_hidden_and_reversible() -> None:
    name = temp_name("a.bin.manifest.json", TOKEN)
    assert name.startswith(".")
    assert parse_temp(name) == ("a.bin.manifest.json", TOKEN)
    assert parse_temp("a.bin") is None
    assert parse_temp(".bashrc") is None


def test_a_snapshot_creates_only_the_stores_own_folder(tmp_path: Path) -> None:
    store = local(str(tmp_path / "typo" / "backups"))
    with pytest.raises(StoreError, match="does not exist"):
        write(store, "a.bin")
    assert not (tmp_path / "typo").exists()


def test_links_and_fifos_in_a_store_are_never_opened(tmp_path: Path) -> None:
    store = local(str(tmp_path))
    write(store, "good.bin")
    secret = tmp_path.parent / f"{tmp_path.name}-outside.json"
    secret.write_text("{}")
    (tmp_path / "linked.bin.manifest.json").symlink_to(secret)
    (tmp_path / "linked.bin").write_bytes(b"payload")
    os.mkfifo(tmp_path / "fifo.bin.manifest.json")
    (tmp_path / "fifo.bin").write_bytes(b"payload")
    started = time.monotonic()
    listing = store.listing()
    assert time.monotonic() - started < 5
    assert [s.name for s in listing.snapshots] == ["good.bin"]
    assert sorted(p.name for p in listing.problems) == ["fifo.bin", "linked.bin"]


class TestLocalStore(StoreKit):
    @pytest.fixture
    def store_url(self, tmp_path: Path) -> str:
        return str(tmp_path / "kit")


class TestMemoryStore(StoreKit):
    @pytest.fixture
    def store_url(self, tmp_path: Path) -> str:
        return f"memory://kit-{tmp_path.name}"

    WORKERS = "threads"
