"""Rows for what runs often on little data: start-up (--version, list, check) and small PostgreSQL databases.

Issue 20's yardsticks: `python -c pass` for start-up, `pg_dump -Fc -f FILE` for pgbench scale 1 and
10. Run them with `--pairs 10` (as docs/performance.md does); the start-up rows repeat each command
ten times per pair so that a pair is long enough to time.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.common import Run, dbsnap, run_command, sequence
from tests.pgserver import PASSWORD, USER

REPEAT = 10


def run_with(argv: list[str], env: dict[str, str]) -> Callable[[], Run]:
    """A row's side: `argv` run once."""
    return lambda: run_command(argv, env)


def _repeat(argv: list[str], env: dict[str, str]) -> Callable[[], Run]:
    """`argv` run REPEAT times; the mean time of one run, the largest peak."""

    def runs() -> Run:
        total = sequence(*(run_command(argv, env) for _ in range(REPEAT)))
        return Run(total.seconds / REPEAT, total.peak_rss_mb)

    return runs


def startup_rows(bench: Any) -> None:
    """--version, and list and check of a local store of 100 snapshots, against `python -c pass`."""
    work: Path = bench.work / "startup"
    work.mkdir()
    db, store = work / "app.db", work / "store"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    conn.close()
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": ""}
    env.pop("PYTHONDONTWRITEBYTECODE")  # byte-compiled once, as an installed package is
    for index in range(100):
        run_command(
            dbsnap("snapshot", f"sqlite:///{db}", "--store", str(store), "--name", f"s-{index:03}"), env
        )
    bare = _repeat([sys.executable, "-c", "pass"], env)
    at = "Start-up (one run, mean of 10): "
    bench.measure(f"{at}`dbsnap --version` / `python -c pass`", _repeat(dbsnap("--version"), env), bare)
    bench.measure(
        f"{at}`dbsnap list` (local, 100 snapshots) / `python -c pass`",
        _repeat(dbsnap("list", "--store", str(store)), env),
        bare,
    )
    bench.measure(
        f"{at}`dbsnap check` (local, 100 snapshots) / `python -c pass`",
        _repeat(dbsnap("check", "--store", str(store), "--max-age", "1000d"), env),
        bare,
    )


def small_postgres_rows(bench: Any, scales: tuple[int, ...] = (1, 10)) -> None:
    """pgbench scale 1 and 10: the default snapshot against `pg_dump -Fc -f FILE`."""
    from benchmarks.suite import pgbench_database

    cluster = bench.cluster
    env = {**os.environ}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    pgenv = {**env, "PGPASSWORD": PASSWORD}
    for scale in scales:
        url, size = pgbench_database(bench, scale)
        name = f"bench_{scale}"
        store, bare = bench.work / f"small-{scale}", bench.work / f"small-{scale}.pgdump"
        conninfo = f"host=127.0.0.1 port={cluster.port} user={USER} dbname={name}"
        snapshot = run_with(dbsnap("snapshot", "--store", str(store)), {**env, "DBSNAP_DATABASE_URL": url})
        pg_dump = run_with(["pg_dump", "-Fc", "-f", str(bare), f"--dbname={conninfo}"], pgenv)
        bench.measure(
            f"PostgreSQL {size} (small, pgbench scale {scale}): snapshot / `pg_dump -Fc -f FILE`",
            snapshot,
            pg_dump,
        )
        with cluster.connect() as conn:
            conn.execute(f"DROP DATABASE {name} WITH (FORCE)")
