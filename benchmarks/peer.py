"""dbsnap against django-dbbackup (installed by this script into its own virtualenv) on the same databases.

Run from the repository root as root:
    python benchmarks/peer.py [--scale 10] [--sqlite-megabytes 50] [--pairs 3]
Both tools run with their defaults: django-dbbackup dumps PostgreSQL as plain SQL (pg_dump) and
restores it with psql; SQLite as SQL text from iterdump.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import HEADER, Run, pairs, run_command
from benchmarks.sqlite import build as build_sqlite
from tests.pgserver import PASSWORD, USER, Cluster, start_cluster

ROOT = Path(__file__).resolve().parents[1]
PEER_VENV = ROOT / "build" / "bench-peer-venv"

SETTINGS = """
import os
SECRET_KEY = "bench"
INSTALLED_APPS = ["dbbackup"]
USE_TZ = True
if os.environ["PEER_ENGINE"] == "sqlite":
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["PEER_SQLITE"]}}
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": os.environ["PEER_PG_NAME"],
                 "USER": os.environ["PEER_PG_USER"], "PASSWORD": os.environ["PEER_PG_PASSWORD"],
                 "HOST": "127.0.0.1", "PORT": os.environ["PEER_PG_PORT"]}}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "dbbackup": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                 "OPTIONS": {"location": os.environ["PEER_BACKUP_DIR"]}},
}
"""


def peer_python() -> Path:
    """Create (once) the virtualenv with django-dbbackup and return its python."""
    python = PEER_VENV / "bin" / "python"
    if not python.exists():
        venv.create(PEER_VENV, with_pip=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "django", "django-dbbackup", "psycopg[binary]"],
            check=True,
        )
    return python


def project(work: Path) -> Path:
    folder = work / "peerproject"
    folder.mkdir()
    (folder / "peer_settings.py").write_text(SETTINGS)
    (folder / "manage.py").write_text(
        "import os, sys\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'peer_settings')\n"
        "from django.core.management import execute_from_command_line\nexecute_from_command_line(sys.argv)\n"
    )
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--sqlite-megabytes", type=int, default=50)
    parser.add_argument("--pairs", type=int, default=3)
    args = parser.parse_args()
    python = peer_python()
    cluster: Cluster = start_cluster()
    work = Path(tempfile.mkdtemp(prefix="dbsnap-bench-peer-"))
    try:
        folder = project(work)
        source = cluster.createdb("peer")
        subprocess.run(
            [str(cluster.bindir / "pgbench"), "-i", "-q", "-s", str(args.scale), "-h", cluster.socket_dir,
             "-p", str(cluster.port), "-U", "postgres", "peer"],
            check=True, capture_output=True,
        )  # fmt: skip
        sqlite_db = work / "peer.db"
        build_sqlite(sqlite_db, args.sqlite_megabytes)
        base = {**os.environ, "PEER_BACKUP_DIR": str(work / "peer-backups")}
        pg_env = {**base, "PEER_ENGINE": "pg", "PEER_PG_NAME": "peer", "PEER_PG_USER": USER,
                  "PEER_PG_PASSWORD": PASSWORD, "PEER_PG_PORT": str(cluster.port)}  # fmt: skip
        lite_env = {**base, "PEER_ENGINE": "sqlite", "PEER_SQLITE": str(sqlite_db)}
        manage = [str(python), str(folder / "manage.py")]
        ours_env = {**os.environ, "DBSNAP_DATABASE_URL": source}
        store = work / "store"
        rows = []
        counter = [0]
        for label, env, url in (
            ("PostgreSQL", pg_env, source),
            ("SQLite", lite_env, f"sqlite:///{sqlite_db}"),
        ):
            made: list[str] = []

            def ours_snapshot(url: str = url, kind: str = label, made: list[str] = made) -> Run:
                counter[0] += 1
                made.append(f"{kind}-{counter[0]}")
                return run_command(
                    [sys.executable, "-m", "dbsnap", "snapshot", url, "--store", str(store), "--name",
                     f"{kind}-{counter[0]}"], {**ours_env, "DBSNAP_DATABASE_URL": url},
                )  # fmt: skip

            def peer_backup(env: dict[str, str] = env, kind: str = label) -> Run:
                counter[0] += 1
                return run_command([*manage, "dbbackup", "-o", f"{kind}-{counter[0]}.dump"], env)

            title = f"{label} snapshot: dbsnap / django-dbbackup dbbackup"
            rows.append(pairs(title, ours_snapshot, peer_backup, args.pairs).row())
            first_ours = made[0]
            first_peer = sorted((work / "peer-backups").glob(f"{label}-*.dump"))[0].name

            def ours_restore(url: str = url, name: str = first_ours) -> Run:
                return run_command(
                    [sys.executable, "-m", "dbsnap", "restore", name, url, "--store", str(store), "--yes"],
                    {**ours_env, "DBSNAP_DATABASE_URL": url},
                )

            def peer_restore(env: dict[str, str] = env, name: str = first_peer) -> Run:
                return run_command([*manage, "dbrestore", "--noinput", "-i", name], env)

            title = f"{label} restore: dbsnap / django-dbbackup dbrestore"
            rows.append(pairs(title, ours_restore, peer_restore, args.pairs).row())
        print(f"<!-- pgbench scale {args.scale}; SQLite {sqlite_db.stat().st_size / 1e6:.0f} MB -->")
        print(HEADER)
        print("\n".join(rows))
    finally:
        cluster.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
