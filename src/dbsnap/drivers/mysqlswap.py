"""All-or-nothing MySQL/MariaDB restores: load into a staging database, then swap in one RENAME.

DDL commits implicitly in MySQL, so a restore cannot be one transaction. Instead the tables are
loaded into a staging database `DB__dbsnap_TOKEN_new` while the live database serves on; any failure
there drops the staging database and leaves the live one untouched. Then the schema objects
(triggers, routines, views, events) are tried on the staging copy, and the live database's own
objects are saved in a journal table; and one multi-table `RENAME TABLE` moves every live table into
`DB__dbsnap_TOKEN_old` and every staged table into the live database, atomically. Triggers cannot
move across databases with RENAME, and views, routines and events belong to their database, so those
are dropped just before and created just after the rename: in that window (milliseconds; measured in
docs/mysql.md) the tables are the snapshot's but its triggers and views are not in place yet.

If anything fails after the rename, the rename is undone and the saved objects recreated. If dbsnap
is killed in the window, the next dbsnap run on that database (any restore, or a snapshot's
preflight) finds the journal and rolls the swap back the same way, before doing anything else.
"""

from __future__ import annotations

import logging
import secrets
import time

from dbsnap.contract import Codec, DriverError, Sink, Tool, checkpoint, child_environment
from dbsnap.drivers.mysqlconn import MyTarget, ident
from dbsnap.drivers.mysqldump import drop_objects_sql, objects_sql, split

log = logging.getLogger("dbsnap")
JOURNAL = "dbsnap_restore_journal"
DONE = -1  # the journal's staged_tables once the swap has finished


def _names(target: MyTarget, token: str) -> tuple[str, str]:
    prefix = target.dbname[:40]
    return f"{prefix}__dbsnap_{token}_new", f"{prefix}__dbsnap_{token}_old"


def _literal(text: str) -> str:
    """A MySQL string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def _like(text: str) -> str:
    """`text` for a LIKE pattern, its wildcards escaped."""
    return text.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%")


def _tables(target: MyTarget, database: str) -> list[str]:
    rows = target.query(
        f"SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = {_literal(database)} "
        f"AND TABLE_TYPE = 'BASE TABLE' AND TABLE_NAME <> '{JOURNAL}'",
        database="information_schema",
    )
    return sorted(row[0] for row in rows)


def _rename(pairs: list[tuple[str, str, str, str]]) -> bytes:
    moves = ",\n  ".join(f"{ident(a)}.{ident(b)} TO {ident(c)}.{ident(d)}" for a, b, c, d in pairs)
    return f"RENAME TABLE {moves};\n".encode()


def _drop(target: MyTarget, database: str) -> None:
    target.query(f"DROP DATABASE IF EXISTS {ident(database)}", database="information_schema")


class _Load:
    """The staging database's client, fed part 1 of the dump as it is decoded."""

    def __init__(self, tool: Tool) -> None:
        self.tool = tool

    def write(self, data: bytes, /) -> int:
        stdin = self.tool.proc.stdin
        assert stdin is not None
        stdin.write(data)
        return len(data)


def restore(target: MyTarget, payload: str, codec: Codec) -> None:
    """Make the live database exactly the snapshot's, or leave it exactly as it was."""
    recover(target)
    token = secrets.token_hex(4)
    staging, old = _names(target, token)
    charset = target.query(
        "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA "
        f"WHERE SCHEMA_NAME = {_literal(target.dbname)}",
        database="information_schema",
    )
    if not charset:
        raise DriverError(f"database {target.dbname!r} does not exist on {target.redacted}; create it first")
    create = f"CHARACTER SET {charset[0][0]} COLLATE {charset[0][1]}"
    target.query(f"CREATE DATABASE {ident(staging)} {create}", database="information_schema")
    settled = False
    try:
        staged = target.with_dbname(staging)
        parts = _load(staged, payload, codec, f"loading the snapshot into {staging}")
        for name in ("triggers-and-routines", "views"):  # tried on the copy first: errors cost nothing
            staged.run_sql(parts.get(name, b""), f"creating the snapshot's {name} in {staging}")
        staged.run_sql(drop_objects_sql(staged), f"clearing {staging} for the swap")
        target.query(f"CREATE DATABASE {ident(old)} {create}", database="information_schema")
        _swap(target, staging, old, parts)
        settled = True
    except _RolledBack as exc:
        settled = True
        raise exc.error from None
    finally:
        if settled or not _tables(target, old):
            for database in (staging, old):
                _drop(target, database)


class _RolledBack(Exception):
    """A swap failed and was undone; `error` says why it failed."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


def _load(staged: MyTarget, payload: str, codec: Codec, what: str) -> dict[str, bytes]:
    """Stream the dump's tables into the staging database; return the other parts."""
    parts: dict[str, bytes] = {}
    with (
        staged.option_file() as options,
        Tool(staged.client(options), child_environment(), stdin=True) as tool,
        open(payload, "rb") as raw,
        codec.decoder(raw) as decoded,
    ):
        sink: Sink = _Load(tool)
        try:
            parts = split(decoded, sink)
        except BrokenPipeError:
            pass  # the client stopped on an error: finish() below reports it
        finally:
            if tool.proc.stdin is not None:
                tool.proc.stdin.close()
        tool.finish(what)
    return parts


def _swap(target: MyTarget, staging: str, old: str, parts: dict[str, bytes]) -> None:
    """Move the staged tables in and the live ones out in one RENAME; undo it all on failure."""
    saved = objects_sql(target)
    journal = target.with_dbname(old)
    new_tables = _tables(target, staging)
    journal.run_sql(
        # One statement, so a kill cannot leave the table without its row (the recovery copes anyway).
        f"CREATE TABLE {JOURNAL} AS SELECT {len(new_tables)} AS staged_tables, "
        f"CAST(0x{saved.hex() or '00'} AS BINARY) AS objects;\n".encode(),
        "writing the restore's journal",
    )
    live_tables = _tables(target, target.dbname)
    pairs = [(target.dbname, t, old, t) for t in live_tables] + [
        (staging, t, target.dbname, t) for t in new_tables
    ]
    log.info("Database backup: swapping %d staged tables into %s", len(new_tables), target.redacted)
    started = time.monotonic()
    try:
        target.run_sql(drop_objects_sql(target), f"dropping the triggers and views of {target.redacted}")
        checkpoint("mysql-objects-dropped")
        if pairs:
            target.run_sql(_rename(pairs), f"swapping the tables of {target.redacted}")
        checkpoint("mysql-renamed")
        for name in ("triggers-and-routines", "views", "events"):
            target.run_sql(parts.get(name, b""), f"creating the snapshot's {name} in {target.redacted}")
            if name == "triggers-and-routines":
                checkpoint("mysql-triggers-created")
        # Settled: from here a kill leaves a finished restore, which the next run must not undo (the
        # database may have taken writes since); it only drops the leftovers.
        journal.run_sql(f"UPDATE {JOURNAL} SET staged_tables = {DONE};\n".encode(), "settling the restore")
        checkpoint("mysql-settled")
        log.info(
            "Database backup: %s had the snapshot's tables without all its objects for %.0f ms",
            target.redacted,
            (time.monotonic() - started) * 1000,
        )
    except BaseException as exc:  # noqa: BLE001 - undone whatever it was, then raised again by restore()
        _roll_back(target, old, staging, saved, len(new_tables))
        raise _RolledBack(exc) from None


def _roll_back(target: MyTarget, old: str, staging: str, saved: bytes, staged_tables: int) -> None:
    """Undo a swap, wherever it stopped: the snapshot's tables and objects out, the saved ones back in.

    The RENAME happened if the staging database lost its tables (or, for a snapshot without tables,
    if the live tables are in the saved database).
    """
    renamed = not _tables(target, staging) and (staged_tables > 0 or bool(_tables(target, old)))
    target.run_sql(drop_objects_sql(target), f"rolling back {target.redacted}")
    if renamed:
        current, before = _tables(target, target.dbname), _tables(target, old)
        pairs = [(target.dbname, t, staging, t) for t in current] + [
            (old, t, target.dbname, t) for t in before
        ]
        if pairs:
            target.run_sql(_rename(pairs), f"rolling back the tables of {target.redacted}")
    target.run_sql(saved, f"restoring the schema objects of {target.redacted}")
    log.warning("Database backup: the restore into %s was rolled back; nothing was changed", target.redacted)


def recover(target: MyTarget) -> None:
    """Roll back a swap a killed run left half-done, and drop its staging and saved databases."""
    pattern = _like(target.dbname[:40] + "__dbsnap_") + "%"
    rows = target.query(
        f"SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE {_literal(pattern)}",
        database="information_schema",
    )
    names = {row[0] for row in rows}
    for old in sorted(n for n in names if n.endswith("_old")):
        staging = old[: -len("_old")] + "_new"
        found = target.query(
            f"SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = {_literal(old)} "
            f"AND TABLE_NAME = '{JOURNAL}'",
            database="information_schema",
        )
        if found and found[0][0] == "1":
            journal = target.with_dbname(old).query(f"SELECT staged_tables, HEX(objects) FROM {JOURNAL}")
            if not journal:  # killed before its row was written: the swap had not begun
                for database in (staging, old):
                    _drop(target, database)
                continue
            staged, saved = int(journal[0][0]), bytes.fromhex(journal[0][1])
            if staged == DONE:  # killed after the restore had finished: nothing to undo
                for database in (staging, old):
                    _drop(target, database)
                continue
            target.query(f"CREATE DATABASE IF NOT EXISTS {ident(staging)}", database="information_schema")
            log.warning(
                "Database backup: rolling back a restore into %s that was interrupted", target.redacted
            )
            _roll_back(target, old, staging, saved.rstrip(b"\0"), staged)
        elif _tables(target, old):
            raise DriverError(
                f"{old} holds tables of an interrupted restore into {target.redacted} but no journal; "
                "nothing was touched: look at it, and drop it once the live database is right"
            )
        for database in (staging, old):
            _drop(target, database)
    for name in sorted(n for n in names if n.endswith("_new") and n[: -len("_new")] + "_old" not in names):
        _drop(target, name)
