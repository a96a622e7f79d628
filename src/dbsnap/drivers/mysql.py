"""MySQL and MariaDB: mariadb-dump (or mysqldump) streamed, restores swapped in whole or not at all.

Written against the public plugin contract only (dbsnap.contract), like a third-party driver.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from dbsnap.contract import (
    QUERIES,
    SOURCE,
    VERIFY_RESTORE,
    Codec,
    DriverError,
    DriverOption,
    Sink,
    VerificationError,
)
from dbsnap.drivers import mysqldump, mysqlswap
from dbsnap.drivers.mysqlconn import MyTarget, ident, versions


class MysqlDriver:
    """A MySQL or MariaDB database (InnoDB tables are read in one consistent transaction)."""

    name = "mysql"
    extension = ".sql"
    default_codec = "zstd"
    capabilities = frozenset({VERIFY_RESTORE, QUERIES, SOURCE})
    options = (
        DriverOption("lock_timeout", "duration", 180.0, "accepted for symmetry; the swap takes no long locks",
                     ("restore",)),
    )  # fmt: skip

    def __init__(self, url: str, *, codec: str | None = None) -> None:  # noqa: ARG002 - SQL text either way
        """Parse `url` (mysql:// or mariadb://)."""
        self.target = MyTarget(url)
        self.url = self.target.redacted
        self._facts: dict[str, Any] = {}

    def label(self) -> str:
        """The database's name."""
        return self.target.dbname

    def source(self) -> dict[str, Any]:
        """Where the database is: host (or socket), port and name."""
        where = self.target.socket or self.target.host or "localhost"
        return {"host": where, "port": self.target.port or 3306, "dbname": self.target.dbname}

    def preflight(self) -> None:
        """Reach the server, read its version and the dump tool's, and roll back a killed restore first."""
        mysqlswap.recover(self.target)
        self._facts = versions(self.target)

    def dump(self, sink: Sink) -> dict[str, Any]:
        """Stream the four-part dump (tables and rows in one consistent read, then the schema objects)."""
        if not self._facts:
            self.preflight()
        mysqldump.dump(self.target, sink)
        return {**self._facts, "format": "mariadb-dump", "parts": list(mysqldump.PARTS)}

    def restore(self, payload: str, codec: Codec, *, lock_timeout: float = 180.0) -> None:  # noqa: ARG002
        """Swap the snapshot in whole (staging database, one RENAME), or leave the database as it was."""
        try:
            mysqlswap.restore(self.target, payload, codec)
        except (DriverError, VerificationError) as exc:
            raise type(exc)(f"{exc} (the database was left as it was)") from None

    def verify_restore(self, payload: str, codec: Codec, *, queries: Sequence[str] = ()) -> dict[str, Any]:
        """Restore into a scratch database on the same server, count every table's rows, drop it."""
        scratch = self.target.with_dbname(f"dbsnap_verify_{secrets.token_hex(4)}")
        self.target.query(f"CREATE DATABASE {ident(scratch.dbname)}", database="information_schema")
        try:
            try:
                mysqlswap.restore(scratch, payload, codec)
            except DriverError as exc:
                raise VerificationError(f"the snapshot does not restore: {exc}") from None
            tables = [row[0] for row in scratch.query(
                "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
                "AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME")]  # fmt: skip
            counts = {t: int(scratch.query(f"SELECT COUNT(*) FROM {ident(t)}")[0][0]) for t in tables}
            found: dict[str, Any] = {"scratch_database": scratch.dbname, "tables": counts}
            if queries:
                found["queries"] = {q: _number(_first(scratch, q)) for q in queries}
            return found
        finally:
            self.target.query(
                f"DROP DATABASE IF EXISTS {ident(scratch.dbname)}", database="information_schema"
            )


def _first(target: MyTarget, query: str) -> str | None:
    try:
        rows = target.query(query)
    except DriverError as exc:
        raise VerificationError(f"the query {query!r} failed on the restored copy: {exc}") from None
    return rows[0][0] if rows and rows[0] else None


def _number(value: str | None) -> Any:
    """A query's value as a number when it is one (the client returns text)."""
    if value is None or value == "NULL":
        return None
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            continue
    return value
