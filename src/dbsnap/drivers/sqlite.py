"""SQLite driver: snapshots through the online backup API, restores checked before they land."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Sequence
from typing import Any

from dbsnap.codecs import Codec
from dbsnap.drivers.base import QUERIES, SOURCE, VERIFY_RESTORE, DriverOption
from dbsnap.drivers.sqlitefile import (
    connect,
    create_private,
    explain,
    from_sql,
    integrity_check,
    sqlite_path,
)
from dbsnap.environ import host_id
from dbsnap.exceptions import ConfigError, DbsnapError, DriverError, VerificationError
from dbsnap.scratch import Scratch, decoded_copy, scratch_file
from dbsnap.streams import CHUNK, Sink, copy

DEFAULT_LOCK_TIMEOUT = 180.0
# How long one attempt waits for other connections before letting go and trying again later. While a
# writer waits to commit, SQLite locks new readers out (rollback-journal mode), so the wait is short.
ATTEMPT_WAIT = 0.1


class _Busy(Exception):
    """Another connection holds the database; the backup was abandoned and is tried again."""


def _abort_when_busy(status: int, _remaining: int, _total: int) -> None:
    if status in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        raise _Busy


class SqliteDriver:
    """A SQLite database file."""

    name = "sqlite"
    extension = ".sqlite"
    default_codec = "zstd"
    capabilities = frozenset({VERIFY_RESTORE, QUERIES, SOURCE})
    options = (
        DriverOption(
            "lock_timeout", "duration", DEFAULT_LOCK_TIMEOUT, "give up after the file stays locked this long",
            ("restore",),
        ),
    )  # fmt: skip

    def __init__(self, url: str, *, codec: str | None = None) -> None:  # noqa: ARG002 - raw pages either way
        """Use the file named by `url`."""
        self.url = url
        self.path = sqlite_path(url)

    def label(self) -> str:
        """Return the file's stem."""
        return self.path.stem or "sqlite"

    def source(self) -> dict[str, str]:
        """Where the database is: this host and the file's resolved absolute path (links followed)."""
        return {"host": host_id(), "path": str(self.path.resolve())}

    def preflight(self) -> None:
        """Refuse a file that does not exist or is not a SQLite database."""
        if not self.path.is_file():
            hint = " (dbsnap reads the path literally: no ?query or %XX escapes)" if "?" in self.url else ""
            raise DriverError(
                f"SQLite database {str(self.path)!r} does not exist; check the path in {self.url}{hint}"
            )
        try:
            with connect(self.path, "ro") as conn:
                conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.DatabaseError as exc:
            if getattr(exc, "sqlite_errorname", "") == "SQLITE_READONLY_ROLLBACK":
                raise explain(self.path, exc, "cannot read") from None
            raise DriverError(f"{str(self.path)!r} is not a readable SQLite database ({exc})") from None

    def dump(self, sink: Sink) -> dict[str, Any]:
        """Copy the database with the backup API in one step (a consistent read), then stream it."""
        with scratch_file("sqlite", ".sqlite") as scratch:
            temp = scratch.path
            try:
                with connect(self.path, "ro") as src, connect(temp, "rw") as dst:
                    # The copy is read once and deleted: no journal and no fsync (half the backup's
                    # time on a 500 MB database); the stored payload is what is made durable.
                    dst.execute("PRAGMA journal_mode=OFF")
                    dst.execute("PRAGMA synchronous=OFF")
                    src.backup(dst, pages=-1)
                    info = {
                        "format": "sqlite3",
                        "sqlite_version": sqlite3.sqlite_version,
                        "page_size": dst.execute("PRAGMA page_size").fetchone()[0],
                        "page_count": dst.execute("PRAGMA page_count").fetchone()[0],
                        "journal_mode": src.execute("PRAGMA journal_mode").fetchone()[0],
                    }
                    # The copy is a standalone file: readable by sqlite3 without a -wal beside it.
                    dst.execute("PRAGMA journal_mode=DELETE")
                with temp.open("rb") as handle:
                    copy(handle, sink, CHUNK)
                return info
            except sqlite3.Error as exc:
                if getattr(exc, "sqlite_errorname", "") == "SQLITE_READONLY_ROLLBACK":
                    raise explain(self.path, exc, "cannot snapshot") from None
                fix = ""
                if getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
                    fix = (
                        f"; the consistent copy is made in {scratch.path.parent} first: free space there "
                        "or set DBSNAP_TMPDIR to a larger folder"
                    )
                raise DriverError(f"SQLite backup of {str(self.path)!r} failed: {exc}{fix}") from None

    def restore(self, payload: str, codec: Codec, *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> None:
        """Decode to a temporary file, integrity-check it, then backup-API it into the live file."""
        if not isinstance(lock_timeout, int | float) or lock_timeout <= 0:
            raise ConfigError(f"lock_timeout must be a positive number of seconds, not {lock_timeout!r}")
        if not self.path.parent.is_dir():
            raise DriverError(f"folder {str(self.path.parent)!r} for the restored database does not exist")
        created = False
        try:
            with decoded_copy(payload, codec, "sqlite", ".sqlite") as scratch:
                from_sql(scratch.path)
                integrity_check(scratch.path)
                created = create_private(self.path)
                self._copy_in(scratch, lock_timeout)
        except BaseException as exc:
            if created:
                self.path.unlink(missing_ok=True)
            if isinstance(exc, sqlite3.Error | OSError):
                raise DriverError(
                    f"restore into {str(self.path)!r} failed: {exc}; it was left as it was"
                ) from None
            if isinstance(exc, DbsnapError) or not isinstance(exc, Exception):
                raise
            raise VerificationError(
                f"the snapshot could not be decoded ({exc}); nothing was restored"
            ) from None

    def _copy_in(self, scratch: Scratch, lock_timeout: float) -> None:
        """Copy the checked scratch file into the live database, waiting at most `lock_timeout` for it.

        Each attempt lets go as soon as another connection is in the way and tries again later, so
        readers are never locked out for more than an instant while the restore waits.
        """
        deadline = time.monotonic() + lock_timeout
        pause = 0.05
        while True:
            remover: threading.Thread | None = None
            try:
                with connect(scratch.path, "rw") as src, connect(self.path, "rw", ATTEMPT_WAIT) as dst:
                    _match_page_size(src, dst)
                    src.backup(dst, pages=-1, progress=_abort_when_busy)
                    src.close()
                    # Freeing the scratch copy's blocks overlaps SQLite's checkpoint when dst
                    # closes (0.14 s and 0.7 s of a 500 MB restore).
                    remover = threading.Thread(target=scratch.remove, daemon=True)
                    remover.start()
                return
            except (_Busy, sqlite3.OperationalError) as exc:
                if isinstance(exc, sqlite3.OperationalError) and "locked" not in str(exc):
                    raise
            finally:
                if remover is not None:
                    remover.join()
            if time.monotonic() >= deadline:
                raise DriverError(
                    f"restore into {str(self.path)!r} gave up after {lock_timeout:g}s: other connections "
                    "kept the database busy (a long read or write); nothing was changed: retry when it is "
                    "idle, or raise --lock-timeout"
                )
            time.sleep(pause)
            pause = min(pause * 2, 1.0)

    def verify_restore(self, payload: str, codec: Codec, *, queries: Sequence[str] = ()) -> dict[str, Any]:
        """Decode into a temporary file, integrity-check it and count each table's rows.

        Each of `queries` runs there (read-only); the first column of its first row is reported.
        """
        try:
            with decoded_copy(payload, codec, "sqlite", ".sqlite") as scratch:
                from_sql(scratch.path)
                integrity_check(scratch.path)
                with connect(scratch.path, "ro") as conn:
                    names = [
                        r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                    ]
                    counts = {
                        n: conn.execute(
                            f'SELECT count(*) FROM "{n.replace(chr(34), chr(34) * 2)}"'
                        ).fetchone()[0]
                        for n in names
                    }
                    answers = {q: _first(conn, q) for q in queries}
            return {"tables": counts, **({"queries": answers} if queries else {})}
        except Exception as exc:
            # A full disk or another DbsnapError says what to do; it does not mean the snapshot is bad.
            if isinstance(exc, DbsnapError):
                raise
            raise VerificationError(f"the snapshot does not decode to a SQLite database ({exc})") from None


def _first(conn: sqlite3.Connection, query: str) -> Any:
    """The first value of a query's first row on the scratch copy (a failure is a failed check)."""
    try:
        row = conn.execute(query).fetchone()
    except sqlite3.Error as exc:
        raise VerificationError(f"the query {query!r} failed on the restored copy: {exc}") from None
    return row[0] if row else None


def _match_page_size(src: sqlite3.Connection, dst: sqlite3.Connection) -> None:
    """Give the scratch copy the live database's page size when the live one is in WAL mode.

    The backup API cannot change a WAL database's page size ("attempt to write a readonly
    database"), so the copy is rewritten (VACUUM) with the live database's size instead.
    """
    if str(dst.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
        return
    wanted = int(dst.execute("PRAGMA page_size").fetchone()[0])
    if int(src.execute("PRAGMA page_size").fetchone()[0]) != wanted:
        src.execute(f"PRAGMA page_size = {wanted}")
        src.execute("VACUUM")
