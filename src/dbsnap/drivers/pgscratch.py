"""Scratch databases for `verify --restore`: held by an advisory lock while used, dropped once their run died.

A run killed in the middle of a verification cannot drop its scratch database, a full copy of the
data. So the run takes a session-level advisory lock named after the database before creating it,
on a connection it keeps open until the database is dropped; PostgreSQL releases the lock the moment
that connection ends, however the run ended. Every new scratch database first sweeps the server:
a `dbsnap_verify_*` database whose lock can be taken has no living run, and is dropped.
"""

from __future__ import annotations

import contextlib
import logging
import re
import secrets
from collections.abc import Iterator, Sequence
from typing import Any

from dbsnap.drivers.pgconn import PgTarget
from dbsnap.exceptions import DbsnapError, VerificationError

log = logging.getLogger("dbsnap")
PREFIX = "dbsnap_verify_"
MAINTENANCE_DB = "postgres"
# The advisory lock's first key: "dbsp"; the second comes from the database's random name.
LOCK_CLASS = 0x64627370
_NAME = re.compile(rf"{PREFIX}([0-9a-f]{{12}})")


def _key(name: str) -> int | None:
    match = _NAME.fullmatch(name)
    return int(match.group(1)[:7], 16) if match else None


def _identifier(name: str) -> Any:
    from psycopg import sql

    return sql.Identifier(name)


def sweep_scratch(target: PgTarget) -> list[str]:
    """Drop the scratch databases on `target`'s server whose run is gone; return their names."""
    from psycopg import sql

    dropped: list[str] = []
    with target.connect(dbname=MAINTENANCE_DB) as conn:
        rows = conn.execute("SELECT datname FROM pg_database WHERE starts_with(datname, %s)", (PREFIX,))
        names = [str(r[0]) for r in rows.fetchall()]
        for name in names:
            key = _key(name)
            if key is None:
                continue
            if not conn.execute("SELECT pg_try_advisory_lock(%s, %s)", (LOCK_CLASS, key)).fetchone()[0]:
                continue  # a living run holds it
            try:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(_identifier(name)))
                dropped.append(name)
            except Exception as exc:  # noqa: BLE001 - another user's, or already gone: not ours to force
                log.debug("Database backup: could not drop leftover scratch database %s: %s", name, exc)
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s, %s)", (LOCK_CLASS, key))
    for name in dropped:
        log.info("Database backup: dropped scratch database %s left by a killed verification", name)
    return dropped


@contextlib.contextmanager
def scratch_database(target: PgTarget) -> Iterator[str]:
    """Create an empty scratch database (from template0) on `target`'s server; drop it on exit."""
    from psycopg import sql

    sweep_scratch(target)
    token = secrets.token_hex(6)
    name = f"{PREFIX}{token}"
    key = _key(name)
    with target.connect(dbname=MAINTENANCE_DB) as holder:
        holder.execute("SELECT pg_advisory_lock(%s, %s)", (LOCK_CLASS, key))
        try:
            holder.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(_identifier(name)))
        except Exception as exc:
            if isinstance(exc, DbsnapError):
                raise
            raise DbsnapError(
                f"cannot create the scratch database {name} on the server of {target.redacted}: {exc}; "
                "verify --restore needs the CREATEDB privilege there"
            ) from None
        try:
            yield name
        finally:
            holder.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(_identifier(name)))


def run_queries(conn: Any, queries: Sequence[str]) -> dict[str, Any]:
    """Run each query read-only on a scratch copy; return the first value of each (a failure raises)."""
    answers: dict[str, Any] = {}
    for query in queries:
        try:
            with conn.transaction():
                conn.execute("SET TRANSACTION READ ONLY")
                row = conn.execute(query).fetchone()
        except Exception as exc:  # noqa: BLE001 - psycopg's errors name the problem in the query
            raise VerificationError(f"the query {query!r} failed on the restored copy: {exc}") from None
        answers[query] = _plain(row[0]) if row else None
    return answers


def _plain(value: Any) -> Any:
    """A JSON-ready form of a query's value (numbers stay numbers)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    from decimal import Decimal

    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return str(value)
