"""PostgreSQL: dbsnap snapshot/restore against bare pg_dump -Fc / pg_restore on a pgbench database.

Run from the repository root as root (it starts a throwaway cluster and an sshd):
    python benchmarks/postgres.py [--scales 50,200] [--pairs 3]
pgbench scale 50 is about 750 MB on disk, 200 four times that.
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
from benchmarks.sftp import openssh_put
from tests.pgserver import PASSWORD, USER, Cluster, start_cluster
from tests.sshserver import USER as SFTP_USER
from tests.sshserver import SshServer, start_sshd


def database_size(cluster: Cluster, name: str) -> str:
    with cluster.connect(name) as conn:
        return str(conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()[0])


def bench_scale(cluster: Cluster, server: SshServer, scale: int, count: int, work: Path) -> list[str]:
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
    print(snap.row(), flush=True)

    def ours_zstd():
        counter[0] += 1
        return run_command(
            [
                sys.executable,
                "-m",
                "dbsnap",
                "snapshot",
                "--store",
                str(store),
                "--codec",
                "zstd",
                "--name",
                f"z{counter[0]}.pgdump.zst",
            ],
            env,
        )

    zstd = pairs(f"PostgreSQL snapshot --codec zstd ({size})", ours_zstd, bare_dump, count)
    print(zstd.row(), flush=True)
    sftp_env = {**env, **server.env()}
    (server.remote / f"bench-{scale}").mkdir(exist_ok=True)
    shutil.chown(server.remote / f"bench-{scale}", SFTP_USER, SFTP_USER)

    def ours_both():
        counter[0] += 1
        return run_command(
            [
                sys.executable,
                "-m",
                "dbsnap",
                "snapshot",
                "--store",
                str(store),
                "--store",
                server.url(f"bench-{scale}"),
                "--name",
                f"b{counter[0]}.pgdump",
            ],
            sftp_env,
        )

    def bare_both():
        dump = bare_dump()
        put = openssh_put(server, work / f"bare-{scale}.pgdump", f"{server.remote}/bench-{scale}/bare.pgdump")
        return dump.seconds + put.seconds

    both = pairs(f"PostgreSQL snapshot to local + SFTP ({size})", ours_both, bare_both, count)
    print(both.row(), flush=True)

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
    print(restore.row(), flush=True)
    payload = next(store.glob("s*.pgdump")).stat().st_size / 1e6
    zpayload = next(store.glob("z*.pgdump.zst")).stat().st_size / 1e6
    bare = (work / f"bare-{scale}.pgdump").stat().st_size / 1e6
    sizes = (
        f"<!-- scale {scale}: pg_dump -Fc {bare:.1f} MB, dbsnap {payload:.1f} MB, "
        f"--codec zstd {zpayload:.1f} MB -->"
    )
    return [snap.row(), zstd.row(), both.row(), restore.row(), sizes]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--scales", default="50,200", help="pgbench scales, comma-separated (50 is about 750 MB)"
    )
    parser.add_argument("--pairs", type=int, default=3)
    args = parser.parse_args()
    cluster = start_cluster()
    server = start_sshd()
    work = Path(tempfile.mkdtemp(prefix="dbsnap-bench-pg-"))
    try:
        rows = []
        for scale in (int(s) for s in args.scales.split(",")):
            rows += bench_scale(cluster, server, scale, args.pairs, work)
        print(HEADER)
        print("\n".join(rows))
    finally:
        cluster.stop()
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
