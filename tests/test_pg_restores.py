"""PostgreSQL restores as they happen: interrupted mid-stream, blocked by a lock, killed verifications."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import dbsnap
from dbsnap.drivers.pgconn import PgTarget
from dbsnap.drivers.pgscratch import scratch_database, sweep_scratch
from tests.conftest import cli_env, run_cli
from tests.pgcorpus import pg_dump_text
from tests.pgdata import build
from tests.pgserver import Cluster

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def shop(pg: Cluster, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, dict[str, str]]:
    """A 300,000-row database snapshotted with each codec: (url, store, {codec: name})."""
    url = pg.createdb("shop_restores")
    with pg.connect("shop_restores") as conn:
        build(conn)
    store = str(tmp_path_factory.mktemp("restores-store"))
    names = {codec: dbsnap.snapshot(url, store, codec=codec).name for codec in ("zstd", "none")}
    return url, store, names


def _sessions(pg: Cluster, dbname: str, pattern: str) -> int:
    with pg.connect() as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND application_name LIKE %s",
            (dbname, pattern),
        ).fetchone()
    return int(row[0])


def _copying(pg: Cluster, dbname: str) -> bool:
    """Whether a restore session of `dbname` streams the 300,000 rows of public.events right now."""
    with pg.connect() as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND state = 'active' "
            "AND application_name LIKE 'dbsnap-restore-%%' AND query LIKE 'COPY public.events %%'",
            (dbname,),
        ).fetchone()
    return int(row[0]) > 0


@pytest.mark.parametrize(
    ("codec", "sig"),
    [
        ("zstd", signal.SIGINT),
        ("none", signal.SIGINT),
        ("zstd", signal.SIGTERM),
        ("none", signal.SIGTERM),
        ("zstd", signal.SIGKILL),
        ("none", signal.SIGKILL),
    ],
)
def test_a_signal_while_data_streams_leaves_the_target_as_it_was(
    pg: Cluster, shop: tuple[str, str, dict[str, str]], codec: str, sig: signal.Signals, tmp_path: Path
) -> None:
    _, store, names = shop
    dbname = f"restore_signal_{codec}_{sig.name.lower()}"
    target = pg.createdb(dbname)
    with pg.connect(dbname) as conn:
        build(conn, rows=5000)
        conn.execute("CREATE TABLE only_here (x int)")
    before = pg_dump_text(pg, dbname)
    proc = subprocess.Popen(
        [sys.executable, "-m", "dbsnap", "restore", names[codec], "--yes", "--store", store],
        env=cli_env({"DBSNAP_DATABASE_URL": target, "DBSNAP_TMPDIR": str(tmp_path)}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not _copying(pg, dbname):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.01)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGKILL: -9}[sig], err
    deadline = time.monotonic() + 15
    while _sessions(pg, dbname, "dbsnap-restore-%"):
        assert time.monotonic() < deadline, "the restore's session outlived dbsnap"
        time.sleep(0.05)
    assert pg_dump_text(pg, dbname) == before


def test_a_restore_blocked_by_an_idle_transaction_gives_up_and_names_it(
    pg: Cluster, shop: tuple[str, str, dict[str, str]]
) -> None:
    _, store, names = shop
    target = pg.createdb("restore_blocked")
    with pg.connect("restore_blocked") as conn:
        build(conn, rows=100)
    before = pg_dump_text(pg, "restore_blocked")
    with pg.connect("restore_blocked") as blocker:
        blocker.execute("SET application_name = 'nightly-report'")
        blocker.autocommit = False
        blocker.execute("SELECT count(*) FROM public.customers WHERE city = 'Zürich'")
        pid = blocker.info.backend_pid
        started = time.monotonic()
        result = run_cli(
            "restore", names["zstd"], "--yes", "--lock-timeout", "2s", "--store", store,
            env={"DBSNAP_DATABASE_URL": target},
        )  # fmt: skip
        waited = time.monotonic() - started
        blocker.rollback()
    assert result.returncode == 1, result.stderr
    assert f"pid {pid}" in result.stderr and "nightly-report" in result.stderr
    assert "idle in transaction" in result.stderr and "Zürich" in result.stderr
    assert "nothing was changed" in result.stderr and "--lock-timeout" in result.stderr
    assert waited < 30
    assert pg_dump_text(pg, "restore_blocked") == before


def _scratch_databases(pg: Cluster) -> set[str]:
    return {d for d in pg.databases() if d.startswith("dbsnap_verify_")}


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
def test_a_killed_verification_leaves_a_scratch_database_the_next_run_drops(
    pg: Cluster, shop: tuple[str, str, dict[str, str]], sig: signal.Signals
) -> None:
    url, store, names = shop
    assert _scratch_databases(pg) == set()
    proc = subprocess.Popen(
        [sys.executable, "-m", "dbsnap", "verify", names["none"], "--restore", "--store", store],
        env=cli_env({"DBSNAP_DATABASE_URL": url}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not _scratch_databases(pg):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.01)
    time.sleep(0.3)  # let pg_restore get going
    proc.send_signal(sig)
    proc.communicate(timeout=60)
    if sig == signal.SIGKILL:
        assert _scratch_databases(pg), "a SIGKILLed run cannot drop its scratch database"
    else:
        assert _scratch_databases(pg) == set()  # SIGINT and SIGTERM clean up on the way out
    again = run_cli("verify", names["zstd"], "--restore", "--store", store, env={"DBSNAP_DATABASE_URL": url})
    assert again.returncode == 0, again.stderr
    assert _scratch_databases(pg) == set()


def test_the_sweep_never_drops_a_scratch_database_a_live_run_uses(pg: Cluster) -> None:
    target = PgTarget.parse(pg.url("postgres"))
    with scratch_database(target) as live:
        assert live in _scratch_databases(pg)
        assert sweep_scratch(target) == []
        # Another process sweeping meanwhile does not drop it either.
        code = (
            "from dbsnap.drivers.pgconn import PgTarget; from dbsnap.drivers.pgscratch import sweep_scratch; "
            f"print(sweep_scratch(PgTarget.parse({pg.url('postgres')!r})))"
        )
        other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        assert other.stdout.strip() == "[]"
        assert live in _scratch_databases(pg)
    assert live not in _scratch_databases(pg)


def test_a_parallel_restore_over_a_migrated_database(
    pg: Cluster, shop: tuple[str, str, dict[str, str]]
) -> None:
    _, store, names = shop
    target = pg.createdb("restore_parallel_migrated")
    dbsnap.restore(names["zstd"], target, store)
    with pg.connect("restore_parallel_migrated") as conn:
        conn.execute("ALTER TABLE public.customers DROP COLUMN created")  # a column with a default
        conn.execute("DROP VIEW public.customer_totals")
        conn.execute("CREATE TABLE public.newer (x int)")
    dbsnap.restore(names["zstd"], target, store, restore_options={"jobs": 2})
    assert pg_dump_text(pg, "restore_parallel_migrated") == pg_dump_text(pg, "shop_restores")
