"""Shared fixtures: hypothesis profiles, a fresh plugin manager, SQLite databases, a CLI runner."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, settings

from dbsnap.plugins import Plugins, create_plugins, reset_plugins
from tests.mysqlserver import mariadb  # noqa: F401 - the session fixture, for every test module
from tests.pgserver import Cluster, start_cluster
from tests.s3server import S3Server, start_s3
from tests.sshserver import SshServer, start_sshd

# Loaded first, so pytest rewrites the kit's assertions before any test module imports it.
pytest_plugins = ["dbsnap.testing"]

settings.register_profile("quick", max_examples=60, deadline=None)
settings.register_profile("ci", max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "quick"))

SRC = Path(__file__).resolve().parents[1] / "src"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Keep the developer's own DBSNAP_*/BACKUP_* settings out of every test."""
    for key in list(os.environ):
        if key.startswith(("DBSNAP_", "BACKUP_")) or key == "DATABASE_URL":
            monkeypatch.delenv(key)
    reset_plugins()
    yield
    reset_plugins()


@pytest.fixture
def plugins() -> Plugins:
    """A fresh plugin manager with the installed entry points loaded."""
    return create_plugins()


def make_db(path: Path, rows: int = 1000) -> Path:
    """Create a SQLite database with a table `items` of `rows` rows."""
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, blob BLOB)")
    conn.executemany(
        "INSERT INTO items (name, blob) VALUES (?, ?)",
        ((f"item {i} ünïcode", os.urandom(16)) for i in range(rows)),
    )
    conn.commit()
    conn.close()
    return path


def make_blob_db(path: Path, megabytes: int) -> Path:
    """Create a SQLite database of `megabytes` 1 MiB random (incompressible) blobs."""
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE blobs (id INTEGER PRIMARY KEY, data BLOB)")
    conn.executemany(
        "INSERT INTO blobs (data) VALUES (?)", ((os.urandom(1 << 20),) for _ in range(megabytes))
    )
    conn.commit()
    conn.close()
    return path


RECORD = re.compile(
    r"\.dbsnap-record\.(verify|drill)\.[0-9a-f]{16}\.\d{8}T\d{12}Z\.[0-9a-f]{12}\.(ok|bad)\.json"
)


def leftovers(folder: Path) -> list[str]:
    """Hidden objects in a store folder that are not committed check records (verify/drill write those)."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") and not RECORD.fullmatch(p.name))


def table_dump(path: Path) -> list[tuple[object, ...]]:
    """Return every row of every table, for comparing databases."""
    conn = sqlite3.connect(path)
    try:
        tables = [
            r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")
        ]
        rows: list[tuple[object, ...]] = []
        for table in tables:
            rows.append((table,))
            rows.extend(conn.execute(f'SELECT * FROM "{table}" ORDER BY rowid'))
        return rows
    finally:
        conn.close()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A SQLite database with 1,000 rows."""
    return make_db(tmp_path / "app.db")


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A path for a local store (not yet created)."""
    return tmp_path / "backups"


def cli_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment without dbsnap's own settings, plus `env`: for a dbsnap child."""
    full = {k: v for k, v in os.environ.items() if not k.startswith(("DBSNAP_", "BACKUP_"))}
    full.pop("DATABASE_URL", None)
    full.update(env or {})
    return full


def run_cli(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `python -m dbsnap ARGS` in a subprocess with no terminal; capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "dbsnap", *args],
        cwd=cwd,
        env=cli_env(env),
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="session")
def pg() -> Iterator[Cluster]:
    """A throwaway PostgreSQL cluster for the whole session; failing to start it fails the tests."""
    try:
        cluster = start_cluster()
    except (RuntimeError, OSError) as exc:
        pytest.fail(f"cannot start the PostgreSQL test cluster: {exc}")
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def sshd() -> Iterator[SshServer]:
    """A real OpenSSH server for the whole session; failing to start it fails the tests."""
    try:
        server = start_sshd()
    except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
        pytest.fail(f"cannot start the test sshd: {exc}")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def s3() -> Iterator[S3Server]:
    """An S3-API server (moto) on a loopback port with a bucket; failing to start it fails the tests."""
    try:
        server = start_s3()
    except Exception as exc:  # noqa: BLE001 - any failure to start is the test's failure
        pytest.fail(f"cannot start the S3 test server: {exc}")
    yield server
    server.stop()


@pytest.fixture
def s3_env(s3: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    """The S3 test server, with the AWS variables pointing at it set in this process's environment."""
    for key, value in s3.env().items():
        monkeypatch.setenv(key, value)
    return s3


@pytest.fixture
def sshd_env(sshd: SshServer, monkeypatch: pytest.MonkeyPatch) -> SshServer:
    """The test sshd, with its known_hosts and user key set in this process's environment."""
    for key, value in sshd.env().items():
        monkeypatch.setenv(key, value)
    return sshd


HOOK_TOKEN = "Notify-SECRET-pw-31337"


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        pass


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A real HTTP server on a loopback port that records what is POSTed to it (its URL is a secret)."""
    _Hook.received = []
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks/{HOOK_TOKEN}", _Hook.received
    server.shutdown()


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs, mounted for the test (root only) and unmounted after."""
    if os.geteuid() != 0:
        message = "the full-disk test mounts a tmpfs and needs root (CI runs as root)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    mount = tmp_path / "small"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], check=True)
    yield mount
    subprocess.run(["umount", str(mount)], check=False)
