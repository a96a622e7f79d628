"""The commit protocol of the local and memory stores."""

from __future__ import annotations

import os
import stat
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dbsnap.exceptions import SnapshotExistsError, SnapshotNotFound
from dbsnap.manifest import Snapshot
from dbsnap.stores.local import LocalStore
from dbsnap.stores.store import Store, final_of_temp, temp_name

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


def write(store: Store, name: str, data: bytes = b"payload") -> Snapshot:
    with store.writing(name) as pending:
        pending.file.write(data)
        return pending.commit(template(name, data))


def test_commit_leaves_payload_and_manifest_private(tmp_path: Path) -> None:
    store = LocalStore.from_url(str(tmp_path / "deep" / "backups"))
    write(store, "a.bin")
    root = tmp_path / "deep" / "backups"
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert sorted(p.name for p in root.iterdir()) == ["a.bin", "a.bin.manifest.json"]
    for path in root.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [s.name for s in store.snapshots()] == ["a.bin"]


def test_an_uncommitted_payload_leaves_nothing(tmp_path: Path) -> None:
    store = LocalStore.from_url(str(tmp_path))

    def failing_dump() -> None:
        with store.writing("a.bin") as pending:
            pending.file.write(b"half")
            raise RuntimeError("dump failed")

    with pytest.raises(RuntimeError):
        failing_dump()
    assert list(tmp_path.iterdir()) == []


def test_an_existing_name_is_never_overwritten(tmp_path: Path) -> None:
    store = LocalStore.from_url(str(tmp_path))
    write(store, "a.bin", b"first")
    with pytest.raises(SnapshotExistsError):
        write(store, "a.bin", b"second")
    assert (tmp_path / "a.bin").read_bytes() == b"first"


def test_a_name_taken_during_the_dump_gets_the_next_default_name(tmp_path: Path) -> None:
    store = LocalStore.from_url(str(tmp_path))
    with store.writing("a.bin") as pending:
        pending.file.write(b"late")
        write(store, "a.bin", b"early")
        snap = pending.commit(template("a.bin", b"late"), rename=lambda n: f"a-{n}.bin")
    assert snap.name == "a-1.bin"
    assert (tmp_path / "a.bin").read_bytes() == b"early"
    assert {s.name for s in store.snapshots()} == {"a.bin", "a-1.bin"}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_payload_without_manifest_is_not_listed(tmp_path: Path) -> None:
    store = LocalStore.from_url(str(tmp_path))
    (tmp_path / "orphan.sqlite.zst").write_bytes(b"x")
    assert store.snapshots() == []
    with pytest.raises(SnapshotNotFound):
        store.get("orphan.sqlite.zst")


def test_wrong_sized_payload_is_not_listed(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = LocalStore.from_url(str(tmp_path))
    write(store, "a.bin")
    (tmp_path / "a.bin").write_bytes(b"truncated")
    assert store.snapshots() == []
    assert "Database backup" in caplog.text


def test_delete_removes_manifest_then_payload(tmp_path: Path) -> None:
    store = LocalStore.from_url(str(tmp_path))
    snap = write(store, "a.bin")
    store.delete(snap)
    assert list(tmp_path.iterdir()) == []


def test_sweep_removes_only_stale_leftovers(tmp_path: Path) -> None:
    store = LocalStore.from_url(str(tmp_path))
    write(store, "keep.bin")
    stale_payload = tmp_path / temp_name("gone.bin")
    stale_payload.write_bytes(b"x")
    fresh = tmp_path / temp_name("busy.bin")
    fresh.write_bytes(b"x")
    # A crash after the payload's rename but before the manifest's: the temporary manifest
    # proves dbsnap wrote the payload, so the sweep removes both.
    (tmp_path / "crashed.bin").write_bytes(b"x")
    (tmp_path / temp_name("crashed.bin.manifest.json")).write_text("{}")
    (tmp_path / "users-own-file.txt").write_text("not ours")
    old = time.time() - 7200
    for path in tmp_path.iterdir():
        if path != fresh:
            os.utime(path, (old, old))
    swept = store.sweep(timedelta(hours=1))
    assert stale_payload.name in swept
    assert "crashed.bin" in swept
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(["keep.bin", "keep.bin.manifest.json", fresh.name, "users-own-file.txt"])


def test_temp_names_are_hidden_and_reversible() -> None:
    name = temp_name("a.bin.manifest.json")
    assert name.startswith(".")
    assert final_of_temp(name) == "a.bin.manifest.json"
    assert final_of_temp("a.bin") is None
    assert final_of_temp(".bashrc") is None


def test_memory_store_runs_the_same_protocol() -> None:
    store = Store.from_url("memory://dbsnap-test-memory")
    snap = write(store, "m.bin", b"memory")
    assert [s.name for s in store.snapshots()] == ["m.bin"]
    store.delete(snap)
    assert store.snapshots() == []
    assert store.entries() == {}
