"""The MariaDB server on 127.0.0.1:3306 (root, no password): databases and users the tests make and drop."""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Iterator
from urllib.parse import quote

import pytest

HOST, PORT = "127.0.0.1", 3306
USER = "dbsnap_kit"
PASSWORD = "My:@/?#%&'\" ü-dbsnap-SECRET-9Z"


def sql(statements: str, database: str = "") -> str:
    """Run SQL as root with the client; return its batch output."""
    result = subprocess.run(
        ["mariadb", f"--host={HOST}", f"--port={PORT}", "--user=root", "--default-character-set=utf8mb4",
         "--batch", "--skip-column-names", *([database] if database else [])],
        input=statements, capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(result.stderr)
    return result.stdout


def dump_text(database: str) -> str:
    """mariadb-dump's whole output for a database (no dates, no comments), for equality checks."""
    return subprocess.run(
        ["mariadb-dump", f"--host={HOST}", f"--port={PORT}", "--user=root", "--default-character-set=utf8mb4",
         "--skip-dump-date", "--skip-comments", "--routines", "--events", "--triggers", "--hex-blob",
         database],
        capture_output=True, text=True, check=True, timeout=600,
    ).stdout  # fmt: skip


class MariaDB:
    """Databases on the shared server, and a user with a hostile password that owns them."""

    def __init__(self) -> None:
        self.made: list[str] = []

    def createdb(self, name: str) -> str:
        """Create database `name` (dropping an old one); return its URL for the test user."""
        sql(f"DROP DATABASE IF EXISTS `{name}`; CREATE DATABASE `{name}` CHARACTER SET utf8mb4;")
        self.made.append(name)
        return self.url(name)

    def url(self, name: str, *, password: str = PASSWORD) -> str:
        """The mysql:// URL of a database for the test user, the password percent-encoded."""
        return f"mysql://{USER}:{quote(password, safe='')}@{HOST}:{PORT}/{name}"

    def root_url(self, name: str) -> str:
        """The URL of a database for root (no password)."""
        return f"mysql://root@{HOST}:{PORT}/{name}"

    def databases(self) -> set[str]:
        """Every database's name."""
        return set(sql("SHOW DATABASES").split())

    def staging(self, name: str) -> list[str]:
        """The staging and saved databases restores into `name` left (other tests' are not ours)."""
        return sorted(n for n in self.databases() if n.startswith(f"{name}__dbsnap_"))

    def drop_all(self) -> None:
        """Drop what the tests made (and any staging database left behind)."""
        for name in self.made:
            sql(f"DROP DATABASE IF EXISTS `{name}`;")
        for name in self.databases():
            if "__dbsnap_" in name or name.startswith("dbsnap_verify_"):
                sql(f"DROP DATABASE IF EXISTS `{name}`;")


@pytest.fixture(scope="session")
def mariadb() -> Iterator[MariaDB]:
    """The shared MariaDB server; failing to reach it fails the tests (never skips them)."""
    try:
        sql("SELECT 1")
        escaped = PASSWORD.replace("\\", "\\\\").replace("'", "\\'")
        # A broad grant, for brevity: docs/mysql.md names the privileges a restore really needs.
        sql(f"DROP USER IF EXISTS '{USER}'@'%'; CREATE USER '{USER}'@'%' IDENTIFIED BY '{escaped}';"
            f"GRANT ALL PRIVILEGES ON *.* TO '{USER}'@'%';")  # fmt: skip
    except (RuntimeError, OSError) as exc:
        pytest.fail(f"cannot reach the MariaDB server on {HOST}:{PORT} as root: {exc}")
    server = MariaDB()
    yield server
    server.drop_all()
    sql(f"DROP USER IF EXISTS '{USER}'@'%';")


def unique(prefix: str) -> str:
    """A database name no other test uses."""
    return f"{prefix}_{secrets.token_hex(3)}"
