"""Reaching a MySQL or MariaDB server with its own client tools, the password only in an option file.

`mysql://user:password@host:port/db` and `mariadb://...` name a database; `?socket=/run/mysqld.sock`
a local socket. The credentials go to the tools in a 0600 option file (`--defaults-extra-file`),
never on their argv, and are removed when the tool is done.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from dbsnap.contract import (
    ConfigError,
    DriverError,
    Tool,
    child_environment,
    redact_url,
    register_secret,
    scratch_file,
)

CHARSET = "--default-character-set=utf8mb4"


def find_tool(*names: str) -> str:
    """The first of `names` on PATH (mariadb-dump before mysqldump, mariadb before mysql)."""
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    raise DriverError(
        f"{names[0]} is not installed; install the MariaDB or MySQL client tools "
        "(Debian: apt-get install mariadb-client)"
    )


def _option(value: str) -> str:
    """A value for an option file: quoted, with backslashes and quotes escaped."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


class MyTarget:
    """A parsed mysql:// or mariadb:// URL: the server, the credentials and the database."""

    def __init__(self, url: str) -> None:
        """Parse `url`; refuse one without a database name."""
        self.redacted = redact_url(url)
        try:
            parts = urlsplit(url)
            self.port = parts.port
        except ValueError as exc:
            raise ConfigError(f"MySQL URL {self.redacted} is malformed ({exc})") from None
        self.host = parts.hostname or ""
        self.user = unquote(parts.username or "")
        self.password = unquote(parts.password) if parts.password is not None else None
        register_secret(self.password)
        self.dbname = unquote(parts.path.lstrip("/"))
        query = parse_qs(parts.query)
        self.socket = (query.get("socket") or query.get("unix_socket") or [""])[0]
        unknown = sorted(set(query) - {"socket", "unix_socket"})
        if unknown:
            raise ConfigError(f"MySQL URL {self.redacted}: unknown option {unknown[0]!r} (known: socket)")
        if not self.dbname or "/" in self.dbname:
            raise ConfigError(f"MySQL URL {self.redacted} names no database; add /DBNAME to it")

    def with_dbname(self, dbname: str) -> MyTarget:
        """The same server and credentials, another database."""
        other = object.__new__(MyTarget)
        other.__dict__.update(self.__dict__)
        other.dbname = dbname
        return other

    @contextlib.contextmanager
    def option_file(self) -> Iterator[str]:
        """Yield the path of a 0600 option file holding the connection and the password; then remove it."""
        lines = ["[client]"]
        if self.user:
            lines.append(f"user={_option(self.user)}")
        if self.password is not None:
            lines.append(f"password={_option(self.password)}")
        if self.socket:
            lines.append(f"socket={_option(self.socket)}")
        elif self.host:
            lines.append(f"host={_option(self.host)}")
            lines.append("protocol=TCP")
        if self.port:
            lines.append(f"port={self.port}")
        # A locked scratch file: if this process is killed, a later run sweeps it, password and all.
        with scratch_file("mycnf", ".cnf") as scratch:
            scratch.path.write_text("\n".join(lines) + "\n", encoding="utf-8")
            yield str(scratch.path)

    def client(self, options: str, *extra: str, database: str | None = None) -> list[str]:
        """argv of the mariadb (or mysql) client; `options` is the option file."""
        tool = find_tool("mariadb", "mysql")
        return [tool, f"--defaults-extra-file={options}", CHARSET, *extra, database or self.dbname]

    def query(self, sql: str, *, database: str | None = None) -> list[list[str]]:
        """Run one statement with the client; return its rows (tab-separated batch output, unescaped)."""
        with self.option_file() as options:
            argv = self.client(options, "--batch", "--skip-column-names", "-e", sql, database=database)
            with Tool(argv, child_environment(), stdout=True) as tool:
                out = tool.stdout.read()
                tool.finish(f"a query on {self.redacted}")
        return [[_unescape(cell) for cell in line.split("\t")] for line in out.decode().splitlines()]

    def run_sql(self, sql: bytes, what: str, *, database: str | None = None) -> None:
        """Feed SQL text (DELIMITER and all) to the client; raise DriverError with its words if it fails."""
        with self.option_file() as options, Tool(self.client(options, database=database), child_environment(),
                                                  stdin=True) as tool:  # fmt: skip
            tool.pump_in(_Bytes(sql))
            tool.finish(what)


def _unescape(cell: str) -> str:
    """Undo the client's batch escaping (\\t, \\n, \\\\, \\0)."""
    if "\\" not in cell:
        return cell
    out, i = [], 0
    while i < len(cell):
        if cell[i] == "\\" and i + 1 < len(cell):
            out.append({"t": "\t", "n": "\n", "\\": "\\", "0": "\0"}.get(cell[i + 1], cell[i + 1]))
            i += 2
        else:
            out.append(cell[i])
            i += 1
    return "".join(out)


class _Bytes:
    """A source over bytes in memory."""

    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def read(self, size: int = -1, /) -> bytes:
        end = len(self.data) if size < 0 else self.at + size
        chunk, self.at = self.data[self.at : end], min(end, len(self.data))
        return chunk


def ident(name: str) -> str:
    """A MySQL identifier, backquoted."""
    return "`" + name.replace("`", "``") + "`"


def versions(target: MyTarget) -> dict[str, Any]:
    """The server's version and the dump tool's, read before any work; refuses a missing database."""
    rows = target.query("SELECT VERSION(), DATABASE()")
    if not rows or len(rows[0]) < 2:
        raise DriverError(f"{target.redacted} did not answer SELECT VERSION()")
    dump = find_tool("mariadb-dump", "mysqldump")
    with Tool([dump, "--version"], child_environment(), stdout=True) as tool:
        tool_version = tool.stdout.read().decode().strip()
        tool.finish("mariadb-dump --version")
    return {"server_version": rows[0][0], "dump_version": tool_version}


def dump_argv(target: MyTarget, options: str, *flags: str, tables: Sequence[str] = ()) -> list[str]:
    """argv of mariadb-dump (or mysqldump) for the target's database."""
    tool = find_tool("mariadb-dump", "mysqldump")
    return [tool, f"--defaults-extra-file={options}", CHARSET, *flags, target.dbname, *tables]
