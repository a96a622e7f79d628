"""Hostile store contents: whatever sits beside a good snapshot, listing never raises, never hangs, and the
good snapshot still lists, verifies and restores."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dbsnap
from dbsnap.manifest import Snapshot
from tests.conftest import make_db, run_cli, table_dump

NAME = st.from_regex(r"[a-z][a-z0-9._-]{0,20}", fullmatch=True).filter(
    lambda n: not n.endswith(".manifest.json")
)


KINDS = [
    "bytes", "huge", "nested", "not-object", "wrong-types", "unknown-format", "other-name", "wrong-size",
    "symlink", "fifo", "folder", "latin1", "empty",
]  # fmt: skip


@st.composite
def hostile(draw: st.DrawFn) -> tuple[str, str, bytes]:
    """(name, kind, content) of one object that looks like a manifest and is not a valid one."""
    name = draw(NAME)
    kind = draw(st.sampled_from(KINDS))
    data = draw(st.binary(max_size=300)) if kind == "bytes" else b""
    return name, kind, data


def _plant(store: Path, good: Snapshot, name: str, kind: str, data: bytes) -> None:
    """Put a hostile `name.manifest.json` (and usually a payload) into the store folder."""
    manifest = store / f"{name}.manifest.json"
    (store / name).write_bytes(b"payload")
    record = good.to_manifest()
    if kind == "bytes":
        manifest.write_bytes(data)
    elif kind == "huge":
        manifest.write_bytes(b'{"a": "' + b"x" * 200_000 + b'"}')
    elif kind == "nested":
        manifest.write_bytes(b"[" * 100_000 + b"]" * 100_000)
    elif kind == "not-object":
        manifest.write_text("[1, 2, 3]\n")
    elif kind == "wrong-types":
        manifest.write_text(
            json.dumps({**record, "name": name, "size": "seven"}, indent=2, sort_keys=True) + "\n"
        )
    elif kind == "unknown-format":
        manifest.write_text(
            json.dumps({**record, "name": name, "format": "dbsnap/99"}, indent=2, sort_keys=True)
        )
    elif kind == "other-name":
        manifest.write_text(good.to_json())  # a valid manifest for another payload
    elif kind == "wrong-size":
        copy = Snapshot.from_manifest({**record, "name": name, "size": 12345})
        manifest.write_text(copy.to_json())
    elif kind == "symlink":
        manifest.symlink_to(store / f"{good.name}.manifest.json")
    elif kind == "fifo":
        os.mkfifo(manifest)
    elif kind == "folder":
        manifest.mkdir()
    elif kind == "latin1":
        manifest.write_bytes(
            json.dumps({**record, "name": name}).encode().replace(b"sqlite", "sqlité".encode("latin-1"))
        )
    elif kind == "empty":
        manifest.write_bytes(b"")


@pytest.fixture(scope="module")
def good_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Snapshot]:
    """A store with one good snapshot of a database, kept pristine for each example to copy."""
    root = tmp_path_factory.mktemp("hostile")
    db = make_db(root / "app.db", rows=100)
    store = root / "pristine"
    return root, db, dbsnap.snapshot(f"sqlite:///{db}", str(store))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=st.lists(hostile(), min_size=1, max_size=4, unique_by=lambda item: item[0]))
def test_listing_survives_any_hostile_manifest(
    good_store: tuple[Path, Path, Snapshot], tmp_path: Path, items: list[tuple[str, str, bytes]]
) -> None:
    root, _, good = good_store
    store = tmp_path / f"store-{time.monotonic_ns()}"
    shutil.copytree(root / "pristine", store)
    for name, kind, data in items:
        if name != good.name:
            _plant(store, good, name, kind, data)
    started = time.monotonic()
    listed = dbsnap.list_snapshots(str(store))
    assert time.monotonic() - started < 5
    assert [s.name for s in listed] == [good.name]
    dbsnap.verify(good.name, str(store))
    shutil.rmtree(store)


def test_verify_reports_each_hostile_manifest_and_the_good_snapshot_restores(
    good_store: tuple[Path, Path, Snapshot], tmp_path: Path
) -> None:
    root, db, good = good_store
    store = tmp_path / "store"
    shutil.copytree(root / "pristine", store)
    kinds = ["huge", "nested", "fifo", "symlink", "unknown-format", "other-name", "wrong-size", "bytes"]
    for index, kind in enumerate(kinds):
        _plant(store, good, f"bad-{index}", kind, b"\xff\xfe")
    result = run_cli("verify", "--all", "--store", str(store), "--json")
    assert result.returncode == 3
    verdicts = {r["name"]: r["ok"] for r in json.loads(result.stdout)["results"]}
    assert verdicts == {good.name: True, **{f"bad-{i}": False for i in range(len(kinds))}}
    before = table_dump(db)
    target = tmp_path / "restored.db"
    dbsnap.restore(good.name, f"sqlite:///{target}", str(store))
    assert table_dump(target) == before
