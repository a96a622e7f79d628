"""The driver conformance kit (dbsnap.testing.driverkit) run against dbsnap's own drivers."""

from __future__ import annotations

import secrets
import sqlite3
from pathlib import Path

import pytest

from dbsnap.testing.driverkit import DriverKit
from tests.conftest import make_db
from tests.pgcorpus import pg_dump_text
from tests.pgserver import PASSWORD, Cluster


class TestSqliteDriver(DriverKit):
    """The SQLite driver: a file with a few thousand rows and blobs."""

    @pytest.fixture
    def source(self, tmp_path: Path) -> str:
        """A database file with data."""
        return f"sqlite:///{make_db(tmp_path / 'kit.db', 20_000)}"

    @pytest.fixture
    def target(self, tmp_path: Path) -> str:
        """A file that does not exist yet."""
        return f"sqlite:///{tmp_path / 'empty.db'}"

    def content(self, url: str) -> str:
        """sqlite3's .dump of the file."""
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            return "\n".join(conn.iterdump())

    def change(self, url: str) -> None:
        """Add a table with a row."""
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            conn.execute(f"CREATE TABLE changed_{secrets.token_hex(3)} (x)")


class TestPostgresDriver(DriverKit):
    """The PostgreSQL driver, with a password that holds every character URLs dislike."""

    secret = PASSWORD

    @pytest.fixture
    def cluster(self, pg: Cluster) -> Cluster:
        """The session's throwaway cluster."""
        return pg

    @pytest.fixture
    def source(self, pg: Cluster) -> str:
        """A database with tables, a partitioned table, a view and 50,000 rows."""
        url = pg.createdb("kit_source")
        with pg.connect("kit_source") as conn:
            conn.execute("CREATE TABLE orders (id bigserial PRIMARY KEY, cents int, note text)")
            conn.execute(
                "INSERT INTO orders (cents, note) SELECT g, md5(g::text) FROM generate_series(1, 50000) g"
            )
            conn.execute("CREATE TABLE events (at date NOT NULL, what text) PARTITION BY RANGE (at)")
            conn.execute(
                "CREATE TABLE events_2026 PARTITION OF events "
                "FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')"
            )
            conn.execute("INSERT INTO events VALUES ('2026-05-01', 'launch')")
            conn.execute("CREATE VIEW big_orders AS SELECT * FROM orders WHERE cents > 40000")
        return url

    @pytest.fixture
    def target(self, pg: Cluster) -> str:
        """An empty database."""
        return pg.createdb("kit_target")

    def content(self, url: str) -> str:
        """pg_dump's plain output of the database."""
        return pg_dump_text(self._pg, url.rsplit("/", 1)[1])

    def change(self, url: str) -> None:
        """Add a table and change rows."""
        with self._pg.connect(url.rsplit("/", 1)[1]) as conn:
            conn.execute(f"CREATE TABLE changed_{secrets.token_hex(3)} (x int)")
            conn.execute("UPDATE orders SET cents = cents + 1 WHERE id < 100")

    @pytest.fixture(autouse=True)
    def _remember(self, pg: Cluster) -> None:
        self._pg = pg
