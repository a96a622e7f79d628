"""The benchmark suite behind `make bench`: every row a ratio against the bare tool or django-dbbackup.

Run from the repository root as root (it starts a throwaway PostgreSQL cluster and an sshd):
    python benchmarks/suite.py [--scale 50] [--sqlite-megabytes 500] [--factor 4] [--pairs 3] [--write]
Every row is measured at the given size and again at `--factor` times it: pgbench scale 50 is about
750 MB on disk. Each row alternates dbsnap and its baseline (`--pairs` pairs, the first pair
dbsnap first, the next baseline first) and prints the median ratio, min and max, and both sides'
peak RSS (VmHWM of the process itself: pg_dump under dbsnap is not counted, nor under
django-dbbackup). `--write` puts the table into docs/performance.md between its markers.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import HEADER, Ratio, Run, dbsnap, pairs, run_command, sequence
from benchmarks.mysqlrows import mysql_rows
from benchmarks.peerenv import peer_python, project
from benchmarks.quick import small_postgres_rows, startup_rows
from benchmarks.sftp import openssh_put
from benchmarks.sqlitedata import build as build_sqlite
from tests.pgserver import PASSWORD, USER, Cluster, start_cluster
from tests.s3server import S3Server, start_s3
from tests.sshserver import USER as SFTP_USER
from tests.sshserver import SshServer, start_sshd

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "performance.md"
BEGIN, END = "<!-- suite:begin -->", "<!-- suite:end -->"


class Bench:
    """One run of the suite: the servers, a scratch folder, the rows measured so far."""

    def __init__(
        self, cluster: Cluster, server: SshServer, s3: S3Server, work: Path, count: int, peer: Path, only: str
    ) -> None:
        self.cluster = cluster
        self.server = server
        self.s3 = s3
        self.only = re.compile(only)
        self.work = work
        self.count = count
        self.peer = [str(peer), str(project(work) / "manage.py")]
        self.rows: list[str] = []
        self.notes: list[str] = []
        self.serial = 0

    def next_name(self, stem: str) -> str:
        """A fresh snapshot name."""
        self.serial += 1
        return f"{stem}-{self.serial}"

    def measure(self, label: str, ours: Callable[[], Run], base: Callable[[], Run]) -> Ratio | None:
        """Measure one row (unless --only leaves it out), print it at once and keep it."""
        if not self.only.search(label):
            return None
        ratio = pairs(label, ours, base, self.count)
        self.rows.append(ratio.row())
        print(ratio.row(), flush=True)
        return ratio


# What a user would write to upload a dump with boto3 (its managed, multipart upload_file).
UPLOAD_FILE = """
import sys, boto3
boto3.client("s3").upload_file(sys.argv[1], sys.argv[2], sys.argv[3])
"""


def age_key(work: Path) -> tuple[str, Path]:
    """An age identity made by age-keygen in `work`: (its public key, the identity file)."""
    identity = work / "age-identity.txt"
    if not identity.exists():
        subprocess.run(["age-keygen", "-o", str(identity)], check=True, capture_output=True)
    public = next(line.split()[-1] for line in identity.read_text().splitlines() if "public key" in line)
    return public, identity


def pgbench_database(bench: Bench, scale: int) -> tuple[str, str]:
    """Create and fill a pgbench database; return its dbsnap URL and its size on disk."""
    cluster = bench.cluster
    name = f"bench_{scale}"
    url = cluster.createdb(name)
    subprocess.run(
        [str(cluster.bindir / "pgbench"), "-i", "-q", "-s", str(scale), "-h", cluster.socket_dir,
         "-p", str(cluster.port), "-U", "postgres", name],
        check=True, capture_output=True,
    )  # fmt: skip
    with cluster.connect(name) as conn:
        size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    return url, f"{size / 1e6:,.0f} MB"


def postgres_rows(bench: Bench, scale: int) -> None:
    """PostgreSQL: snapshot (default zstd and --codec none), local + SFTP, restore, django-dbbackup."""
    url, size = pgbench_database(bench, scale)
    name = f"bench_{scale}"
    cluster, server, work = bench.cluster, bench.server, bench.work
    env = {**os.environ, "DBSNAP_DATABASE_URL": url}
    pgenv = {**os.environ, "PGPASSWORD": PASSWORD}
    conninfo = f"host=127.0.0.1 port={cluster.port} user={USER}"
    store = work / f"pg-{scale}"
    bare = work / f"bare-{scale}.pgdump"
    at = f"PostgreSQL {size}: "

    def pg_dump() -> Run:
        return run_command(["pg_dump", "-Fc", "-f", str(bare), f"--dbname={conninfo} dbname={name}"], pgenv)

    def snapshot(*extra: str) -> Callable[[], Run]:
        return lambda: run_command(dbsnap("snapshot", "--store", str(store), *extra), env)

    bench.measure(f"{at}snapshot (default codec zstd) / `pg_dump -Fc -f FILE`", snapshot(), pg_dump)
    bench.measure(
        f"{at}snapshot `--codec none` / `pg_dump -Fc -f FILE`", snapshot("--codec", "none"), pg_dump
    )
    remote = f"pg-{scale}"
    (server.remote / remote).mkdir(exist_ok=True)
    shutil.chown(server.remote / remote, SFTP_USER, SFTP_USER)
    both_env = {**env, **server.env()}

    def both() -> Run:
        return run_command(dbsnap("snapshot", "--store", str(store), "--store", server.url(remote)), both_env)

    def dump_then_put() -> Run:
        return sequence(pg_dump(), openssh_put(server, bare, f"{server.remote}/{remote}/bare.pgdump"))

    bench.measure(f"{at}snapshot to local + SFTP / `pg_dump -Fc` then `sftp put`", both, dump_then_put)
    s3_env = {**env, **bench.s3.env()}
    s3_url = bench.s3.url(f"pg-{scale}")

    def to_s3() -> Run:
        return run_command(dbsnap("snapshot", "--store", s3_url), s3_env)

    def dump_then_upload() -> Run:
        upload = [sys.executable, "-c", UPLOAD_FILE, str(bare), bench.s3.bucket, f"bare/pg-{scale}.pgdump"]
        return sequence(pg_dump(), run_command(upload, {**os.environ, **bench.s3.env()}))

    bench.measure(f"{at}snapshot to S3 / `pg_dump -Fc` then boto3 `upload_file`", to_s3, dump_then_upload)
    public, identity = age_key(work)
    bench.measure(
        f"{at}snapshot encrypted (`--encrypt-to`, zstd+age) / dbsnap snapshot (zstd)",
        snapshot("--encrypt-to", public),
        snapshot(),
    )
    target = cluster.createdb(f"{name}_target")
    # With --only the snapshot rows may not have run: make the payloads the restore rows need.
    if not list(store.glob("*.pgdump.zst")):
        snapshot()()
    if not list(store.glob("*.pgdump")):
        snapshot("--codec", "none")()
    if not bare.exists():
        pg_dump()
    zstd_payload = next(p for p in sorted(store.glob("*.pgdump.zst")))
    plain_payload = next(p for p in sorted(store.glob("*.pgdump")))

    def restore_into(database: str) -> Callable[[], Run]:
        return lambda: run_command(
            dbsnap("restore", zstd_payload.name, database, "--store", str(store), "--yes"), env
        )

    def pg_restore() -> Run:
        return run_command(
            ["pg_restore", "--clean", "--if-exists", "--single-transaction",
             f"--dbname={conninfo} dbname={name}_target", str(bare)],
            pgenv,
        )  # fmt: skip

    pg_restore()  # the first --clean restore into an empty database does less; warm both paths once
    bench.measure(
        f"{at}restore / `pg_restore --clean --if-exists --single-transaction`",
        restore_into(target),
        pg_restore,
    )
    if not list(store.glob("*.pgdump.zst.age")):
        snapshot("--encrypt-to", public)()
    sealed = sorted(store.glob("*.pgdump.zst.age"))[0]
    bench.measure(
        f"{at}restore encrypted (`--identity`) / dbsnap restore (zstd)",
        lambda: run_command(
            dbsnap(
                "restore", sealed.name, target, "--store", str(store), "--yes", "--identity", str(identity)
            ),
            env,
        ),
        restore_into(target),
    )
    peer_env = {
        **os.environ, "PEER_ENGINE": "pg", "PEER_PG_NAME": name, "PEER_PG_USER": USER,
        "PEER_PG_PASSWORD": PASSWORD, "PEER_PG_PORT": str(cluster.port),
        "PEER_BACKUP_DIR": str(work / f"peer-pg-{scale}"),
    }  # fmt: skip
    bench.measure(
        f"{at}snapshot / django-dbbackup `dbbackup`",
        snapshot(),
        lambda: run_command([*bench.peer, "dbbackup", "-o", f"{bench.next_name('pg')}.dump"], peer_env),
    )

    def dbrestore() -> Run:
        dumps = sorted((work / f"peer-pg-{scale}").glob("pg-*.dump"))
        if not dumps:  # --only left the dbbackup row out; take one dump for this row
            run_command([*bench.peer, "dbbackup", "-o", f"{bench.next_name('pg')}.dump"], peer_env)
            dumps = sorted((work / f"peer-pg-{scale}").glob("pg-*.dump"))
        return run_command([*bench.peer, "dbrestore", "--noinput", "-i", dumps[0].name], peer_env)

    bench.measure(f"{at}restore / django-dbbackup `dbrestore`", restore_into(url), dbrestore)
    bench.notes.append(
        f"PostgreSQL {size} (pgbench scale {scale}): `pg_dump -Fc` {bare.stat().st_size / 1e6:.1f} MB, "
        f"dbsnap zstd {zstd_payload.stat().st_size / 1e6:.1f} MB, dbsnap `--codec none` "
        f"{plain_payload.stat().st_size / 1e6:.1f} MB."
    )
    shutil.rmtree(store)
    shutil.rmtree(server.remote / remote)
    for database in (name, f"{name}_target"):
        with cluster.connect() as conn:
            conn.execute(f"DROP DATABASE {database} WITH (FORCE)")


def sqlite_rows(bench: Bench, megabytes: int) -> None:
    """SQLite: snapshot and restore against sqlite3 + zstd, and against django-dbbackup."""
    work = bench.work / f"sqlite-{megabytes}"
    work.mkdir()
    db = work / "app.db"
    build_sqlite(db, megabytes)
    size = f"{db.stat().st_size / 1e6:,.0f} MB"
    at = f"SQLite {size}: "
    store = work / "store"

    def snapshot_of(database: Path) -> Callable[[], Run]:
        return lambda: run_command(
            dbsnap("snapshot", f"sqlite:///{database}", "--store", str(store), "--name", bench.next_name("s"))
        )

    copy, packed = work / "bare.db", work / "bare.db.zst"

    def backup_then_zstd() -> Run:
        copy.unlink(missing_ok=True)
        packed.unlink(missing_ok=True)
        return sequence(
            run_command(["sqlite3", str(db), f".backup {copy}"]),
            run_command(["zstd", "-q", "-3", "-T0", str(copy), "-o", str(packed)]),
        )

    bench.measure(f"{at}snapshot / `sqlite3 .backup` then `zstd -3 -T0`", snapshot_of(db), backup_then_zstd)
    payload = sorted(store.glob("s-*"))[0].name  # one of the first row's, of `db`
    target = work / "target.db"
    shutil.copy(db, target)

    def restore() -> Run:
        return run_command(dbsnap("restore", payload, f"sqlite:///{target}", "--store", str(store), "--yes"))

    plain = work / "restore.db"

    def zstd_then_restore() -> Run:
        plain.unlink(missing_ok=True)
        return sequence(
            run_command(["zstd", "-q", "-d", str(packed), "-o", str(plain)]),
            run_command(["sqlite3", str(target), f".restore {plain}"]),
        )

    bench.measure(f"{at}restore / `zstd -d` then `sqlite3 .restore`", restore, zstd_then_restore)
    peer_env = {**os.environ, "PEER_ENGINE": "sqlite", "PEER_SQLITE": str(target),
                "PEER_BACKUP_DIR": str(work / "peer")}  # fmt: skip
    bench.measure(
        f"{at}snapshot / django-dbbackup `dbbackup`",
        snapshot_of(target),
        lambda: run_command([*bench.peer, "dbbackup", "-o", f"{bench.next_name('sqlite')}.dump"], peer_env),
    )
    peer_dump = sorted((work / "peer").glob("sqlite-*.dump"))[0].name
    bench.measure(
        f"{at}restore / django-dbbackup `dbrestore`",
        restore,
        lambda: run_command([*bench.peer, "dbrestore", "--noinput", "-i", peer_dump], peer_env),
    )
    ours = (store / payload).stat().st_size / 1e6
    theirs = (work / "peer" / peer_dump).stat().st_size / 1e6
    bench.notes.append(
        f"SQLite {size}: dbsnap zstd {ours:.1f} MB, `zstd -3` {packed.stat().st_size / 1e6:.1f} MB, "
        f"django-dbbackup {theirs:.1f} MB."
    )
    shutil.rmtree(work)


def machine() -> str:
    """One line describing this machine and the tools' versions."""
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.machine(),
    )  # fmt: skip
    memory = int(Path("/proc/meminfo").read_text().split()[1]) / 1024 / 1024
    debian = Path("/etc/debian_version").read_text().strip() if Path("/etc/debian_version").exists() else "?"

    def version(argv: list[str]) -> str:
        out = subprocess.run(argv, capture_output=True, text=True, check=False)
        return (out.stdout or out.stderr).strip().splitlines()[0]

    return (
        f"{os.cpu_count()} cores ({cpu}), {memory:.0f} GiB, Debian {debian}, "
        f"Python {platform.python_version()}, "
        f"{version(['pg_dump', '--version'])}, {version(['ssh', '-V']).split(',')[0]}, "
        f"SQLite {version(['sqlite3', '--version']).split()[0]}, {version(['zstd', '--version']).strip('* ')}"
    )


def write_doc(text: str, path: Path = DOC) -> None:
    """Replace the suite's section of docs/performance.md (or of `path`)."""
    doc = path.read_text()
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.S)
    if not pattern.search(doc):
        raise SystemExit(f"{path} has no {BEGIN} ... {END} section")
    path.write_text(pattern.sub(lambda _: f"{BEGIN}\n{text}\n{END}", doc))


def main() -> None:
    """Build the data, measure every row at both sizes, print the table (and write it with --write)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=int, default=50, help="pgbench scale (50 is about 750 MB)")
    parser.add_argument("--sqlite-megabytes", type=int, default=500)
    parser.add_argument("--factor", type=int, default=4, help="the second size, as a multiple of the first")
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--write", action="store_true", help=f"write the table into {DOC.relative_to(ROOT)}")
    parser.add_argument("--doc", type=Path, default=DOC, help="the page --write writes into")
    parser.add_argument(
        "--only", default="", metavar="REGEX", help="measure only the rows whose label matches"
    )
    parser.add_argument("--small-scales", default="1,10", help="pgbench scales of the small-database rows")
    parser.add_argument("--mysql-rows", type=int, default=2_000_000, help="orders in the MySQL database")
    parser.add_argument(
        "--groups",
        default="startup,small,postgres,sqlite,mysql",
        help="which groups of rows to build data for",
    )
    args = parser.parse_args()
    command = " ".join(["python benchmarks/suite.py", *sys.argv[1:]])
    started = time.monotonic()
    peer = peer_python()
    cluster = start_cluster()
    server = start_sshd()
    s3 = start_s3()
    work = Path(tempfile.mkdtemp(prefix="dbsnap-bench-"))
    try:
        bench = Bench(cluster, server, s3, work, args.pairs, peer, args.only)
        print(HEADER, flush=True)
        groups = set(args.groups.split(","))
        if "startup" in groups:
            startup_rows(bench)
        if "small" in groups:
            small_postgres_rows(bench, tuple(int(s) for s in args.small_scales.split(",")))
        for factor in (1, args.factor):
            if "postgres" in groups:
                postgres_rows(bench, args.scale * factor)
            if "sqlite" in groups:
                sqlite_rows(bench, args.sqlite_megabytes * factor)
            if "mysql" in groups:
                mysql_rows(bench, args.mysql_rows * factor)
    finally:
        cluster.stop()
        server.stop()
        s3.stop()
        shutil.rmtree(work, ignore_errors=True)
    minutes = (time.monotonic() - started) / 60
    text = "\n".join(
        [
            f"Measured {time.strftime('%Y-%m-%d')} with `{command}` ({minutes:.0f} minutes) on {machine()}.",
            "",
            HEADER,
            *bench.rows,
            "",
            *(f"- {note}" for note in bench.notes),
        ]
    )
    print()
    print(text)
    if args.write:
        write_doc(text, args.doc)


if __name__ == "__main__":
    main()
