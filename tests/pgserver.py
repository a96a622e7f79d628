"""A throwaway PostgreSQL cluster for the tests: initdb + pg_ctl on a free loopback port."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import attrs
import psycopg

# Distinctive, hostile to quoting, and never allowed to appear anywhere it should not.
PASSWORD = "Pw:@/?#%&'\" ü-dbsnap-SECRET-7Q"
USER = "dbsnap_admin"


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bindir() -> Path:
    """Return the newest /usr/lib/postgresql/<major>/bin that has initdb."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise RuntimeError("no PostgreSQL server binaries; run `make sysdeps` (apt-get install postgresql)")
    return Path(found[-1]).parent


def _as_postgres(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


@attrs.define
class Cluster:
    """A running cluster: its port, socket folder and superuser with a password."""

    root: Path
    port: int
    bindir: Path

    @property
    def socket_dir(self) -> str:
        """Folder of the unix socket."""
        return str(self.root)

    def url(self, dbname: str, *, password: str | None = PASSWORD, user: str = USER) -> str:
        """A postgresql:// URL over TCP with the percent-encoded password."""
        auth = f"{user}:{quote(password, safe='')}" if password is not None else user
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{dbname}"

    def connect(self, dbname: str = "postgres") -> Any:
        """A superuser connection over the socket (autocommit)."""
        return psycopg.connect(
            host=self.socket_dir, port=self.port, user="postgres", dbname=dbname, autocommit=True
        )

    def createdb(self, name: str) -> str:
        """Create database `name` (dropping an old one) and return its URL."""
        with self.connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}" OWNER {USER}')
        return self.url(name)

    def databases(self) -> set[str]:
        """Names of all databases."""
        with self.connect() as conn:
            return {r[0] for r in conn.execute("SELECT datname FROM pg_database")}

    def stop(self) -> None:
        """Stop the server immediately and remove its files."""
        subprocess.run(
            _as_postgres(
                [str(self.bindir / "pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate", "stop"]
            ),
            capture_output=True,
            check=False,
        )
        shutil.rmtree(self.root, ignore_errors=True)


def start_cluster() -> Cluster:
    """initdb and start a cluster in a new folder of /tmp (as the postgres user when running as root)."""
    bins = bindir()
    # The postgres user must reach the folder, so it lives directly in /tmp, not under a 0700 tmp_path.
    root = Path(tempfile.mkdtemp(prefix="dbsnap-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        os.chmod(root, 0o700)
    data = root / "data"
    init = subprocess.run(
        _as_postgres(
            [
                str(bins / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--no-sync",
                "-E",
                "UTF8",
                "--no-locale",
            ]
        ),
        capture_output=True,
        text=True,
        check=False,
    )
    if init.returncode != 0:
        raise RuntimeError(f"initdb failed: {init.stderr}")
    port = free_port()
    options = (
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
        "-c full_page_writes=off -c max_connections=50"
    )
    started = subprocess.run(
        _as_postgres(
            [str(bins / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start"]
        ),
        capture_output=True,
        text=True,
        check=False,
    )
    cluster = Cluster(root, port, bins)
    if started.returncode != 0:
        log = (root / "log").read_text() if (root / "log").exists() else ""
        raise RuntimeError(f"pg_ctl start failed: {started.stderr} {log}")
    for _ in range(50):
        try:
            with cluster.connect() as conn:
                conn.execute(
                    psycopg.sql.SQL("CREATE ROLE {} LOGIN SUPERUSER PASSWORD {}").format(
                        psycopg.sql.Identifier(USER), psycopg.sql.Literal(PASSWORD)
                    )
                )
            return cluster
        except psycopg.OperationalError:
            time.sleep(0.1)
    raise RuntimeError("the PostgreSQL test cluster did not accept connections")
