"""SQLite end to end through the Python API: real files, real SQLite, no mocks."""

from __future__ import annotations

import multiprocessing
import sqlite3
import time
from pathlib import Path

import pytest

import dbsnap
from dbsnap.exceptions import DriverError, VerificationError
from dbsnap.manifest import Snapshot
from tests.conftest import make_db, table_dump


def url(path: Path) -> str:
    return f"sqlite:///{path}"


def test_round_trip_restores_exactly_the_snapshot(db: Path, store: Path) -> None:
    before = table_dump(db)
    snap = dbsnap.snapshot(url(db), str(store))
    assert snap.name.startswith("app-") and snap.name.endswith(".sqlite.zst")
    assert snap.database == "app" and snap.driver == "sqlite" and snap.codec == "zstd"
    conn = sqlite3.connect(db)
    conn.execute("DELETE FROM items WHERE id % 3 = 0")
    conn.execute("UPDATE items SET name = 'changed' WHERE id < 50")
    conn.execute("CREATE TABLE extra (x)")
    conn.commit()
    conn.close()
    assert table_dump(db) != before
    dbsnap.restore(snap.name, url(db), str(store))
    assert table_dump(db) == before


def test_the_payload_is_a_plain_zstd_sqlite_file(db: Path, store: Path, tmp_path: Path) -> None:
    import subprocess

    snap = dbsnap.snapshot(url(db), str(store))
    out = tmp_path / "plain.db"
    subprocess.run(["zstd", "-q", "-d", str(store / snap.name), "-o", str(out)], check=True)
    assert table_dump(out) == table_dump(db)


def test_two_snapshots_in_one_second_get_unique_names(db: Path, store: Path) -> None:
    names = {dbsnap.snapshot(url(db), str(store)).name for _ in range(4)}
    assert len(names) == 4
    assert len(dbsnap.list_snapshots(str(store))) == 4


def test_list_is_newest_first_and_filters_by_label(db: Path, store: Path, tmp_path: Path) -> None:
    other = make_db(tmp_path / "other.db", rows=10)
    first = dbsnap.snapshot(url(db), str(store))
    second = dbsnap.snapshot(url(other), str(store))
    assert [s.name for s in dbsnap.list_snapshots(str(store))] == [second.name, first.name]
    assert [s.name for s in dbsnap.list_snapshots(str(store), database="other")] == [second.name]


def test_a_flipped_byte_fails_verify_and_restore_leaves_the_database(db: Path, store: Path) -> None:
    snap = dbsnap.snapshot(url(db), str(store))
    payload = store / snap.name
    data = bytearray(payload.read_bytes())
    data[len(data) // 2] ^= 0x01
    payload.write_bytes(bytes(data))
    with pytest.raises(VerificationError, match="corrupt"):
        dbsnap.verify(snap.name, str(store))
    conn = sqlite3.connect(db)
    conn.execute("DELETE FROM items WHERE id > 10")
    conn.commit()
    conn.close()
    before = table_dump(db)
    with pytest.raises(VerificationError):
        dbsnap.restore(snap.name, url(db), str(store))
    assert table_dump(db) == before


def test_a_missing_database_is_a_clear_error(tmp_path: Path, store: Path) -> None:
    with pytest.raises(DriverError, match="does not exist"):
        dbsnap.snapshot(url(tmp_path / "nope.db"), str(store))
    assert not (tmp_path / "nope.db").exists()
    assert not store.exists() or list(store.iterdir()) == []


def test_restore_refuses_a_payload_that_is_not_sqlite(db: Path, store: Path, tmp_path: Path) -> None:
    text = tmp_path / "notes.db"
    text.write_bytes(b"this is not a database" * 100)
    snap = dbsnap.snapshot(url(db), str(store))
    # Build a snapshot whose bytes hash correctly but decode to garbage.
    import zstandard

    bad = store / "bad.sqlite.zst"
    bad.write_bytes(zstandard.ZstdCompressor().compress(text.read_bytes()))
    import hashlib

    forged = snap.to_manifest() | {
        "name": bad.name,
        "size": bad.stat().st_size,
        "sha256": hashlib.sha256(bad.read_bytes()).hexdigest(),
    }

    (store / f"{bad.name}.manifest.json").write_text(Snapshot.from_manifest(forged).to_json())
    before = table_dump(db)
    with pytest.raises(VerificationError, match="SQLite"):
        dbsnap.restore(bad.name, url(db), str(store))
    assert table_dump(db) == before


def _writer(path: str, stop_after: float) -> None:
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    deadline = time.monotonic() + stop_after
    i = 0
    while time.monotonic() < deadline:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO pairs (k, side) VALUES (?, 'a')", (i,))
        conn.execute("INSERT INTO pairs (k, side) VALUES (?, 'b')", (i,))
        conn.execute("COMMIT")
        i += 1
    conn.close()


@pytest.mark.parametrize("journal", ["wal", "delete"])
def test_snapshot_while_another_process_commits_pairs_is_consistent(
    tmp_path: Path, store: Path, journal: str
) -> None:
    path = tmp_path / "busy.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA journal_mode={journal}")
    conn.execute("CREATE TABLE pairs (k INTEGER, side TEXT, pad TEXT DEFAULT (hex(randomblob(200))))")
    conn.commit()
    conn.close()
    writer = multiprocessing.get_context("spawn").Process(target=_writer, args=(str(path), 4.0))
    writer.start()
    try:
        time.sleep(0.5)
        snaps = [dbsnap.snapshot(url(path), str(store)) for _ in range(5)]
    finally:
        writer.join(30)
    assert writer.exitcode == 0
    for i, snap in enumerate(snaps):
        target = tmp_path / f"restored-{i}.db"
        dbsnap.restore(snap.name, url(target), str(store))
        check = sqlite3.connect(target)
        total, unpaired = check.execute(
            "SELECT count(*), (SELECT count(*) FROM (SELECT k FROM pairs GROUP BY k HAVING count(*) != 2)) "
            "FROM pairs"
        ).fetchone()
        check.close()
        assert total % 2 == 0 and unpaired == 0, (snap.name, total, unpaired)
    assert any(s.size for s in snaps)
