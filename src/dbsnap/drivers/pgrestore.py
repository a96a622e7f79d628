"""Restoring a pg_dump archive over a live database: all of it or nothing, whatever the target became.

`pg_restore --single-transaction --file=-` turns the archive into SQL; psql runs it after the wipe
(dbsnap.drivers.pgwipe) in one transaction, so the database ends up as the snapshot was, or as it was
before. The archive's SQL ends with the COMMIT, which pg_restore writes only once everything before it
was written: if pg_restore fails, or dbsnap is interrupted or killed, psql reaches the end of its input
without it and PostgreSQL rolls the whole transaction back.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from typing import Any

from dbsnap.codecs import Codec
from dbsnap.drivers.pgconn import PgTarget, find_tool
from dbsnap.drivers.pgplain import CommitAtEnd
from dbsnap.drivers.pgtoc import archive_input
from dbsnap.drivers.pgwipe import WIPE
from dbsnap.drivers.process import Tool
from dbsnap.exceptions import DriverError
from dbsnap.redact import scrub

log = logging.getLogger("dbsnap")
DEFAULT_LOCK_TIMEOUT = 180.0
POLL = 0.5
_BLOCKERS = (
    "SELECT b.pid, b.application_name, b.usename, b.state, left(b.query, 120) "
    "FROM pg_stat_activity a, LATERAL unnest(pg_blocking_pids(a.pid)) AS blocker(pid) "
    "JOIN pg_stat_activity b ON b.pid = blocker.pid WHERE a.application_name = %s ORDER BY b.pid"
)


def describe_blocker(row: tuple[Any, ...]) -> str:
    """Say who holds a lock, as pg_stat_activity reports them."""
    pid, application, user, state, query = row
    text = " ".join(str(query or "").split())
    return scrub(
        f"pid {pid} (application {application or '-'!r}, user {user or '-'}, {state or 'unknown state'}"
        + (f", last query {text!r}" if text else "")
        + ")"
    )


class LockWatch:
    """Reports, from a second connection, which sessions a restore's transaction is waiting for."""

    def __init__(self, target: PgTarget, application: str, timeout: float) -> None:
        """Watch the session whose application_name is `application`; it gives up after `timeout` s."""
        self.target = target
        self.application = application
        self.timeout = timeout
        self.blockers: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dbsnap-lock-watch", daemon=True)

    def __enter__(self) -> LockWatch:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, *_exc: object) -> None:
        self._stop.set()
        if kind is None:  # on an interruption the tools are killed first; the watch just stops
            self._thread.join(timeout=5)

    def _run(self) -> None:
        try:
            with self.target.connect() as conn:
                while not self._stop.wait(POLL):
                    rows = conn.execute(_BLOCKERS, (self.application,)).fetchall()
                    described = [describe_blocker(tuple(r)) for r in rows]
                    if described and described != self.blockers:
                        log.warning(
                            "Database backup: the restore into %s is waiting for a lock held by %s; it "
                            "gives up after %gs (--lock-timeout)",
                            self.target.redacted,
                            "; ".join(described),
                            self.timeout,
                        )
                    if described:
                        self.blockers = described
        except Exception as exc:  # noqa: BLE001 - watching is a courtesy; the restore goes on without it
            log.debug("Database backup: lock watch stopped: %s", exc)


def restore_in_place(
    target: PgTarget,
    payload: str,
    codec: Codec,
    *,
    no_owner: bool,
    no_privileges: bool,
    lock_timeout: float,
    plain: bool = False,
) -> None:
    """Replace the database's whole content with the archive in one transaction; raise if anything fails.

    A `plain` payload is SQL text (pg_dump's plain format, as the original backup system wrote it).
    """
    application = f"dbsnap-restore-{secrets.token_hex(4)}"
    flags = [*(["--no-owner"] if no_owner else []), *(["--no-privileges"] if no_privileges else [])]
    psql_argv = [
        find_tool("psql"),
        "--no-psqlrc",
        "--quiet",
        "--tuples-only",
        "--no-align",
        "--set=ON_ERROR_STOP=1",
        "--command=BEGIN",
        # Its first output line names the transaction, so its fate can be asked afterwards.
        "--command=SELECT txid_current()",
        # PostgreSQL 14+ notices within a second that psql is gone, even while waiting for a lock.
        "--command=SELECT set_config('client_connection_check_interval', '1000', false) "
        "WHERE current_setting('server_version_num')::int >= 140000",
        f"--command=SET lock_timeout = {max(1, int(lock_timeout * 1000))}",
        f"--command={WIPE}",
        "--file=-",
        f"--dbname={target.conninfo()}",
    ]
    what = f"restore into {target.redacted}"
    started = time.monotonic()
    psql_env = {"PGAPPNAME": application}
    if plain:
        with (
            open(payload, "rb") as raw,
            codec.decoder(raw) as source,
            target.environment() as env,
            Tool(psql_argv, {**env, **psql_env}, stdin=True, stdout=True) as psql,
        ):
            # The COMMIT is sent only once the whole file was read: cut short, it is rolled back.
            psql.feed_in_background(CommitAtEnd(source))
            psql_failed, watch = _watched(psql, target, application, lock_timeout, what)
        fed = psql.feed_error
        dump_failed = DriverError(f"{what}: reading the SQL failed: {fed}") if fed is not None else None
    else:
        with (
            archive_input(payload, codec) as (args, stream),
            target.environment() as env,
            Tool(
                [find_tool("pg_restore"), "--single-transaction", "--file=-", *flags, *args],
                env,
                stdin=stream is not None,
                stdout=True,
            ) as dump,
        ):
            if stream is not None:
                dump.feed_in_background(stream)
            with Tool(psql_argv, {**env, **psql_env}, stdin=dump.stdout, stdout=True) as psql:
                dump.stdout.close()  # psql holds the pipe now; pg_restore gets SIGPIPE if psql dies
                psql_failed, watch = _watched(psql, target, application, lock_timeout, what)
                dump_failed = dump.failure(f"{what}: reading the archive")
    if _fate(target, psql.stdout_head) == "committed":
        if dump_failed is not None:
            log.warning("Database backup: %s committed, then pg_restore reported: %s", what, dump_failed)
        return
    if psql_failed is not None and any("lock timeout" in line for line in psql.stderr_lines()):
        held = "; ".join(watch.blockers) or "another session"
        raise DriverError(
            f"{what} gave up after waiting {time.monotonic() - started:.0f}s for a lock held by {held}; "
            "nothing was changed: end that session (SELECT pg_terminate_backend(PID)) or raise "
            "--lock-timeout"
        )
    reason = psql_failed or dump_failed
    if reason is None:
        reason = DriverError(f"{what} failed: decoding the payload failed: {dump.feed_error or 'unknown'}")
    raise DriverError(f"{reason} (nothing was changed)")


def _watched(
    psql: Tool, target: PgTarget, application: str, lock_timeout: float, what: str
) -> tuple[DriverError | None, LockWatch]:
    """Wait for psql while a second connection names whoever it waits for; return its failure."""
    reader = psql.keep_stdout_head()
    with LockWatch(target, application, lock_timeout) as watch:
        failed = psql.failure(what)
    reader.join()
    return failed, watch


def _fate(target: PgTarget, head: bytes) -> str:
    """Return txid_status of the transaction whose id psql printed first ("unknown" if none)."""
    first = head.split(b"\n", 1)[0].strip()
    if not first.isdigit():
        return "unknown"
    with target.connect() as conn:
        row = conn.execute("SELECT txid_status(%s)", (int(first),)).fetchone()
    return str(row[0]) if row and row[0] else "unknown"


def wipe(target: PgTarget, lock_timeout: float) -> None:
    """Empty the database in one transaction (before a parallel pg_restore, which cannot be one)."""
    import psycopg

    try:
        with target.connect() as conn, conn.transaction():
            conn.execute(f"SET LOCAL lock_timeout = {max(1, int(lock_timeout * 1000))}")
            conn.execute(WIPE)
    except psycopg.errors.LockNotAvailable:
        raise DriverError(
            f"emptying {target.redacted} for the parallel restore gave up after {lock_timeout:g}s waiting "
            "for a lock; nothing was changed: end the sessions using it or raise --lock-timeout"
        ) from None
    except psycopg.Error as exc:
        reason = scrub(str(exc))
        raise DriverError(f"emptying {target.redacted} failed ({reason}); nothing was changed") from None
