"""Every PostgreSQL round trip over the corpus of real-world schemas, compared by whole pg_dump output.

For each feature (partitions, identity and generated columns, domains and enums, views and
materialized views, triggers and rules, row-level security, large objects, sequences, non-ASCII
comments, several schemas, extensions, unlogged tables, a Django project after its migrations):
verify --restore, a restore into an empty database, an in-place restore over a copy that was changed
and migrated since, and a restore interrupted half-way (SIGINT, SIGTERM or SIGKILL) that must leave
the target exactly as it was. The codec alternates between features (zstd, none).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import attrs
import pytest

import dbsnap
from tests.conftest import cli_env
from tests.pgcorpus import ALL, DJANGO, Feature, build_django, build_feature, change_and_migrate, pg_dump_text
from tests.pgserver import Cluster

pytestmark = pytest.mark.slow
SIGNALS = [signal.SIGINT, signal.SIGTERM, signal.SIGKILL]


@attrs.frozen
class Built:
    """A feature's source database and its snapshot."""

    feature: Feature
    index: int
    source: str
    dbname: str
    snapshot: str
    store: str
    dump: str


def _dbname(feature: Feature, suffix: str) -> str:
    return f"corpus_{feature.name.replace('-', '_')}_{suffix}"


@pytest.fixture(scope="module")
def corpus(pg: Cluster, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Built]:
    """Every feature built in its own database and snapshotted once."""
    store = str(tmp_path_factory.mktemp("corpus-store"))
    built: dict[str, Built] = {}
    for index, feature in enumerate(ALL):
        name = _dbname(feature, "src")
        url = build_django(pg, name) if feature is DJANGO else build_feature(pg, feature, name)
        snap = dbsnap.snapshot(url, store, codec="zstd" if index % 2 == 0 else "none")
        built[feature.name] = Built(feature, index, url, name, snap.name, store, pg_dump_text(pg, name))
    return built


IDS = [f.name for f in ALL]


@pytest.mark.parametrize("name", IDS)
def test_verify_restore(corpus: dict[str, Built], name: str) -> None:
    item = corpus[name]
    checked = dbsnap.verify(item.snapshot, item.store, restore_into=item.source)
    assert checked.checks["restore"]["tables"], "the scratch copy has no tables"


@pytest.mark.parametrize("name", IDS)
def test_restore_into_an_empty_database(pg: Cluster, corpus: dict[str, Built], name: str) -> None:
    item = corpus[name]
    target = pg.createdb(_dbname(item.feature, "empty"))
    dbsnap.restore(item.snapshot, target, item.store)
    assert pg_dump_text(pg, _dbname(item.feature, "empty")) == item.dump


def _migrated_copy(pg: Cluster, item: Built, suffix: str) -> tuple[str, str]:
    """A restored copy of the feature, then changed and migrated; return its URL and database name."""
    dbname = _dbname(item.feature, suffix)
    target = pg.createdb(dbname)
    dbsnap.restore(item.snapshot, target, item.store)
    change_and_migrate(pg, item.feature, dbname)
    return target, dbname


@pytest.mark.parametrize("name", IDS)
def test_restore_over_a_changed_and_migrated_database(
    pg: Cluster, corpus: dict[str, Built], name: str
) -> None:
    item = corpus[name]
    target, dbname = _migrated_copy(pg, item, "migrated")
    assert pg_dump_text(pg, dbname) != item.dump
    dbsnap.restore(item.snapshot, target, item.store)
    assert pg_dump_text(pg, dbname) == item.dump


def _restore_sessions(pg: Cluster, dbname: str) -> list[tuple[int, str, str | None]]:
    with pg.connect() as conn:
        rows = conn.execute(
            "SELECT pid, state, wait_event_type FROM pg_stat_activity "
            "WHERE datname = %s AND application_name LIKE 'dbsnap-restore-%%'",
            (dbname,),
        ).fetchall()
    return [(int(r[0]), str(r[1]), r[2]) for r in rows]


def _a_table(pg: Cluster, dbname: str) -> str:
    with pg.connect(dbname) as conn:
        schema, table = conn.execute(
            "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
            "ORDER BY n.nspname = 'public', c.relname LIMIT 1"
        ).fetchone()
    return f'"{schema}"."{table}"'


@pytest.mark.parametrize("name", IDS)
def test_an_interrupted_restore_changes_nothing(
    pg: Cluster, corpus: dict[str, Built], name: str, tmp_path: Path
) -> None:
    """The restore is stopped while its transaction has already dropped part of the target."""
    item = corpus[name]
    sig = SIGNALS[item.index % len(SIGNALS)]
    target, dbname = _migrated_copy(pg, item, "interrupted")
    before = pg_dump_text(pg, dbname)
    with pg.connect(dbname) as blocker:
        # A reader in an open transaction: the restore's wipe waits for it in the middle of its work
        # (extensions and other schemas already dropped inside its transaction).
        blocker.autocommit = False
        blocker.execute(f"LOCK TABLE {_a_table(pg, dbname)} IN ACCESS SHARE MODE")
        proc = subprocess.Popen(
            [sys.executable, "-m", "dbsnap", "restore", item.snapshot, "--yes", "--store", item.store],
            env=cli_env({"DBSNAP_DATABASE_URL": target, "DBSNAP_TMPDIR": str(tmp_path)}),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while not any(wait == "Lock" for _, _, wait in _restore_sessions(pg, dbname)):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the restore never reached the lock"
            time.sleep(0.05)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
        expected = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGKILL: -9}[sig]
        assert proc.returncode == expected, err
        # psql and pg_restore died with dbsnap: their session is gone while our lock is still held.
        deadline = time.monotonic() + 10
        while _restore_sessions(pg, dbname):
            assert time.monotonic() < deadline, "a restore session outlived dbsnap"
            time.sleep(0.05)
        blocker.rollback()
    time.sleep(0.3)
    assert pg_dump_text(pg, dbname) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".dbsnap-")] or sig == signal.SIGKILL
    _no_children_left(proc.pid)


def _no_children_left(pid: int) -> None:
    """No process whose parent was the (now dead) dbsnap process is still running."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        assert int(stat.rsplit(")", 1)[1].split()[1]) != pid, f"process {entry} survived dbsnap"
