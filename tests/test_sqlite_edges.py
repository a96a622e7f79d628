"""SQLite as people really have it: odd paths, symlinks, WAL databases, crashed writers, busy readers."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

import pytest

import dbsnap
from dbsnap.exceptions import DriverError
from tests.conftest import make_db, table_dump


def dump_sql(path: Path) -> str:
    """The database as sqlite3's .dump prints it (schema and every row), read from exactly `path`."""
    conn = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True)
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


HOSTILE = ["prod%41.db", "real#1.db", "what?mode=rwc.db", "with space.db", "ünïcödé 数据.db", "a%2Fb#c?d.db"]


@pytest.mark.parametrize("filename", HOSTILE)
def test_a_hostile_path_names_exactly_that_file(tmp_path: Path, filename: str) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    db = make_db(folder / filename, rows=50)
    # The file a careless URI reading would use instead, with other data in it.
    decoys = {"prod%41.db": "prodA.db", "real#1.db": "real", "what?mode=rwc.db": "what"}
    if filename in decoys:
        make_db(folder / decoys[filename], rows=3)
    before_files = sorted(p.name for p in folder.iterdir())
    expected = dump_sql(db)
    store = str(tmp_path / "store")
    snap = dbsnap.snapshot(f"sqlite:///{db}", store)
    assert sorted(p.name for p in folder.iterdir()) == before_files  # nothing created by a read
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM items WHERE id > 10")
    dbsnap.restore(snap.name, f"sqlite:///{db}", store)
    assert dump_sql(db) == expected
    for decoy in decoys.values():
        if (folder / decoy).exists():
            assert table_dump(folder / decoy) != table_dump(db)  # the decoy was never written
    assert sorted(p.name for p in folder.iterdir()) == before_files


def test_a_missing_file_is_never_created_by_a_snapshot(tmp_path: Path) -> None:
    missing = tmp_path / "real#1.db"
    with pytest.raises(DriverError, match="does not exist"):
        dbsnap.snapshot(f"sqlite:///{missing}", str(tmp_path / "store"))
    assert list(tmp_path.iterdir()) == []


def test_a_symlinked_database_is_restored_through_the_link(tmp_path: Path) -> None:
    real = make_db(tmp_path / "real.db", rows=40)
    link = tmp_path / "link.db"
    link.symlink_to(real)
    expected = dump_sql(real)
    store = str(tmp_path / "store")
    snap = dbsnap.snapshot(f"sqlite:///{link}", store)
    with sqlite3.connect(real) as conn:
        conn.execute("DELETE FROM items")
    dbsnap.restore(snap.name, f"sqlite:///{link}", store)
    assert link.is_symlink() and dump_sql(real) == expected
    assert not (tmp_path / "link.db-journal").exists()


def test_restoring_into_a_wal_database_with_another_page_size(tmp_path: Path) -> None:
    source = tmp_path / "source.db"
    with sqlite3.connect(source) as conn:
        conn.execute("PRAGMA page_size = 8192")
        conn.execute("VACUUM")
    make_db(source, rows=300)
    store = str(tmp_path / "store")
    snap = dbsnap.snapshot(f"sqlite:///{source}", store)
    live = tmp_path / "live.db"
    conn = sqlite3.connect(live)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE other (x)")
    conn.execute("INSERT INTO other VALUES (1)")
    conn.commit()
    assert conn.execute("PRAGMA page_size").fetchone()[0] == 4096
    dbsnap.restore(snap.name, f"sqlite:///{live}", store)
    assert dump_sql(live) == dump_sql(source)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_a_hot_journal_is_explained(tmp_path: Path) -> None:
    db = tmp_path / "crashed.db"
    crash = f"""
import os, sqlite3
c = sqlite3.connect({str(db)!r}, isolation_level=None)
c.execute("PRAGMA cache_size = 1")
c.execute("CREATE TABLE t (x)")
c.execute("WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 2000) "
          "INSERT INTO t SELECT randomblob(1000) FROM r")
c.execute("BEGIN")
c.execute("UPDATE t SET x = randomblob(1000)")
os._exit(0)
"""
    subprocess.run([sys.executable, "-c", crash], check=True)
    assert (tmp_path / "crashed.db-journal").exists()
    with pytest.raises(DriverError) as info:
        dbsnap.snapshot(f"sqlite:///{db}", str(tmp_path / "store"))
    message = str(info.value)
    assert "hot journal" in message and "crashed" in message and "PRAGMA quick_check" in message
    assert (tmp_path / "crashed.db-journal").exists()  # dbsnap changed nothing


def test_a_restored_new_database_is_private_whatever_the_umask(db: Path, tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    snap = dbsnap.snapshot(f"sqlite:///{db}", store)
    fresh = tmp_path / "fresh.db"
    old = os.umask(0o022)
    try:
        dbsnap.restore(snap.name, f"sqlite:///{fresh}", store)
    finally:
        os.umask(old)
    assert fresh.stat().st_mode & 0o777 == 0o600
    assert table_dump(fresh) == table_dump(db)


def test_a_busy_reader_makes_the_restore_give_up_without_locking_out_other_readers(
    db: Path, tmp_path: Path
) -> None:
    store = str(tmp_path / "store")
    snap = dbsnap.snapshot(f"sqlite:///{db}", store)
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM items WHERE id > 500")
    before = table_dump(db)
    reader = sqlite3.connect(db, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM items").fetchone()  # holds a SHARED lock (rollback journal)
    outcome: list[BaseException | None] = []

    def restore() -> None:
        try:
            dbsnap.restore(snap.name, f"sqlite:///{db}", store, restore_options={"lock_timeout": 3})
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            outcome.append(exc)

    worker = threading.Thread(target=restore)
    started = time.monotonic()
    worker.start()
    # While the restore waits, new readers still get in quickly, again and again.
    slowest = 0.0
    while worker.is_alive():
        tick = time.monotonic()
        other = sqlite3.connect(db, timeout=1.0, isolation_level=None)
        other.execute("SELECT count(*) FROM items").fetchone()
        other.close()
        slowest = max(slowest, time.monotonic() - tick)
        time.sleep(0.05)
    worker.join()
    reader.execute("COMMIT")
    reader.close()
    assert isinstance(outcome[0], DriverError), outcome
    assert "gave up after 3s" in str(outcome[0]) and "nothing was changed" in str(outcome[0])
    assert 3 <= time.monotonic() - started < 20
    assert slowest < 0.5
    assert table_dump(db) == before
    dbsnap.restore(snap.name, f"sqlite:///{db}", store)  # once the reader is gone it goes through
    assert len(table_dump(db)) == 1001
