"""SQLite files as dbsnap opens them: exactly the file named, read-only where it only reads.

`sqlite:///` URLs name a file path literally: no percent-decoding and no query string, so `prod%41.db`,
`real#1.db` and `a?b.db` are those files. The path is handed to SQLite as a `file:` URI with every
special character escaped, and with an explicit mode, so SQLite neither reads a `%41` as `A`, nor cuts
the name at `#` or `?`, nor creates a database that a snapshot only meant to read.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

from dbsnap.exceptions import ConfigError, DriverError, VerificationError

BUSY_TIMEOUT = 60.0
FILE_MODE = 0o600


def sqlite_path(url: str) -> Path:
    """Return the file of ``sqlite:///relative.db`` or ``sqlite:////absolute.db``, exactly as written."""
    prefix = "sqlite://"
    if not url.startswith(prefix):
        raise ConfigError(f"{url!r} is not a sqlite:// URL")
    rest = url[len(prefix) :]
    if not rest.startswith("/"):
        raise ConfigError(
            f"SQLite URL {url!r} has a host part; write sqlite:///relative/path.db "
            "or sqlite:////absolute/path.db"
        )
    path = rest[1:]
    if not path or path == ":memory:" or "\x00" in path:
        raise ConfigError(f"SQLite URL {url!r} names no database file")
    return Path(path)


def uri(path: Path, mode: str) -> str:
    """Return the `file:` URI that names exactly `path` (made absolute), opened in `mode`."""
    return f"file:{quote(os.path.abspath(path), safe='/')}?mode={mode}"


@contextlib.contextmanager
def connect(path: Path, mode: str, timeout: float = BUSY_TIMEOUT) -> Iterator[sqlite3.Connection]:
    """Open `path` (mode ro, rw or rwc) in autocommit mode; close it on exit."""
    conn = sqlite3.connect(uri(path, mode), uri=True, timeout=timeout, isolation_level=None)
    try:
        yield conn
    finally:
        conn.close()


def create_private(path: Path) -> bool:
    """Create `path` as an empty 0600 file unless it exists; return whether it was created.

    An empty file is an empty SQLite database, and SQLite gives its journal and WAL files the
    database file's mode, so a restored new database is private whatever the umask.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def explain(path: Path, exc: sqlite3.Error, doing: str) -> DriverError:
    """Turn a SQLite error on the user's database into a one-line error that says what to do."""
    name = getattr(exc, "sqlite_errorname", "")
    if name == "SQLITE_READONLY_ROLLBACK":
        return DriverError(
            f"{doing} {str(path)!r}: a writer crashed in the middle of a transaction and left a hot "
            f"journal ({path}-journal) that must be rolled back first; dbsnap opens the database "
            f"read-only and will not change it: open it once for writing (your application, or "
            f"sqlite3 {path} 'PRAGMA quick_check'), which rolls the journal back, then try again"
        )
    return DriverError(f"{doing} {str(path)!r} failed: {exc}")


def integrity_check(path: Path) -> None:
    """Raise VerificationError unless SQLite's integrity_check says the file is sound."""
    try:
        with connect(path, "ro") as conn:
            rows = conn.execute("PRAGMA integrity_check").fetchall()
    except sqlite3.DatabaseError as exc:
        raise VerificationError(f"the snapshot is not a sound SQLite database ({exc})") from None
    if rows != [("ok",)]:
        problems = "; ".join(str(r[0]) for r in rows[:3])
        raise VerificationError(f"the snapshot failed SQLite's integrity check: {problems}")


MAGIC = b"SQLite format 3\x00"


def from_sql(path: Path) -> bool:
    """Turn a file of SQL text (sqlite3's .dump, as the original backup system could write) into a database.

    The statements run one by one in a fresh file beside it, which then replaces `path`; a file that
    already is a database is left alone. Returns whether it was SQL.
    """
    with open(path, "rb") as raw:
        if raw.read(len(MAGIC)) == MAGIC:
            return False
    built = path.with_name(path.name + ".from-sql")
    try:
        # Autocommit: the dump's own BEGIN and COMMIT (sqlite3's .dump writes them) take effect.
        connection = sqlite3.connect(built, isolation_level=None)
        with open(path, encoding="utf-8") as text, contextlib.closing(connection) as conn:
            statement = ""
            for line in text:
                statement += line
                if sqlite3.complete_statement(statement):
                    conn.execute(statement)
                    statement = ""
            if statement.strip():
                raise VerificationError(
                    "the snapshot is neither a SQLite database nor complete SQL (it ends mid-statement)"
                )
            if conn.in_transaction:
                raise VerificationError("the SQL of the snapshot ends inside a transaction (truncated?)")
        os.replace(built, path)
    except (sqlite3.Error, UnicodeDecodeError) as exc:
        raise VerificationError(
            f"the snapshot is neither a SQLite database nor SQL that runs: {exc}"
        ) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(built)
    return True
