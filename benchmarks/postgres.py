"""PostgreSQL: dbsnap snapshot/restore against bare pg_dump -Fc / pg_restore on a pgbench database.

Run from the repository root as root (it starts a throwaway cluster):
    python benchmarks/postgres.py [--scales 8,35] [--pairs 3]
pgbench scale 35 is about 560 MB on disk.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import HEADER, pairs, run_command
from tests.pgserver import PASSWORD, USER, Cluster, start_cluster


def database_size(cluster: Cluster, name: str) -> str:
    with cluster.connect(name) as conn:
        return str(conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()[0])


def bench_scale(cluster: Cluster, scale: int, count: int, work: Path) -> list[str]:
    source = cluster.createdb(f"bench_{scale}")
    subprocess.run(
        [
            str(cluster.bindir / "pgbench"),
            "-i",
            "-q",
            "-s",
            str(scale),
            "-h",
            cluster.socket_dir,
            "-p",
            str(cluster.port),
            "-U",
            "postgres",
            f"bench_{scale}",
        ],
        check=True,
        capture_output=True,
    )
    size = database_size(cluster, f"bench_{scale}")
    target = cluster.createdb(f"bench_{scale}_target")
    env = {**os.environ, "DBSNAP_DATABASE_URL": source}
    pgenv = {**os.environ, "PGPASSWORD": PASSWORD}
    conninfo = f"host=127.0.0.1 port={cluster.port} user={USER}"
    store = work / f"store-{scale}"
    counter = [0]

    def ours_snapshot():
        counter[0] += 1
        return run_command(
            [
                sys.executable,
                "-m",
                "dbsnap",
                "snapshot",
                "--store",
                str(store),
                "--name",
                f"s{counter[0]}.pgdump",
            ],
            env,
        )

    def bare_dump():
        return run_command(
            [
                "pg_dump",
                "-Fc",
                "-f",
                str(work / f"bare-{scale}.pgdump"),
                f"--dbname={conninfo} dbname=bench_{scale}",
            ],
            pgenv,
        )

    snap = pairs(f"PostgreSQL snapshot to a local store ({size})", ours_snapshot, bare_dump, count)

    def ours_restore():
        return run_command(
            [sys.executable, "-m", "dbsnap", "restore", "s1.pgdump", target, "--store", str(store), "--yes"],
            env,
        )

    def bare_restore():
        return run_command(
            [
                "pg_restore",
                "--clean",
                "--if-exists",
                "--single-transaction",
                f"--dbname={conninfo} dbname=bench_{scale}_target",
                str(work / f"bare-{scale}.pgdump"),
            ],
            pgenv,
        )

    bare_restore()  # the first --clean restore into an empty database differs; warm both paths
    restore = pairs(f"PostgreSQL restore ({size})", ours_restore, bare_restore, count)
    payload = (store / "s1.pgdump").stat().st_size / 1e6
    return [snap.row(), restore.row(), f"<!-- payload {payload:.0f} MB at scale {scale} -->"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scales", default="8,35", help="pgbench scales, comma-separated")
    parser.add_argument("--pairs", type=int, default=3)
    args = parser.parse_args()
    cluster = start_cluster()
    work = Path(tempfile.mkdtemp(prefix="dbsnap-bench-pg-"))
    try:
        rows = []
        for scale in (int(s) for s in args.scales.split(",")):
            rows += bench_scale(cluster, scale, args.pairs, work)
        print(HEADER)
        print("\n".join(rows))
    finally:
        cluster.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
