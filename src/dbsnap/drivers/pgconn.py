"""PostgreSQL connection facts: URL parsing, password files, client tools and server checks."""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs

from dbsnap.drivers.pgurl import parse_credentials
from dbsnap.environ import child_environment
from dbsnap.exceptions import ConfigError, DriverError, MissingExtraError
from dbsnap.redact import redact_url, register_secret, scrub
from dbsnap.scratch import scratch_file

_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?")
DEBIAN_PACKAGE = "postgresql-client"


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError:
        raise MissingExtraError(
            "the PostgreSQL driver needs psycopg: pip install 'dbsnap[postgres]'"
        ) from None
    return psycopg


@attrs.frozen
class PgTarget:
    """A parsed PostgreSQL URL.

    Attributes:
        params: libpq connection parameters without the password.
        password: The password, or None (never shown; see `redacted`).
        redacted: The URL with the password masked, for messages.
    """

    params: dict[str, str]
    password: str | None = attrs.field(repr=False)
    redacted: str

    @classmethod
    def parse(cls, url: str) -> PgTarget:
        """Parse a postgresql:// or postgres:// URL with libpq's own parser (via psycopg)."""
        redacted = redact_url(url)
        try:
            params, password = parse_credentials(url, _psycopg().conninfo)
        except ConfigError:
            raise
        except Exception as exc:  # noqa: BLE001 - psycopg raises ProgrammingError subclasses
            raise ConfigError(f"PostgreSQL URL {redacted} is malformed: {scrub(str(exc))}") from None
        register_secret(password)
        clean = {k: str(v) for k, v in params.items() if v is not None}
        env = os.environ
        if not (clean.get("dbname") or clean.get("service") or env.get("PGSERVICE") or env.get("PGDATABASE")):
            raise ConfigError(
                f"PostgreSQL URL {redacted} names no database; add /DBNAME to it (or set PGDATABASE "
                "or a PGSERVICE that names one)"
            )
        return cls(clean, password, redacted)

    @property
    def dbname(self) -> str:
        """The database name (from the URL, else from PGDATABASE; a service's is known once connected)."""
        return self.params.get("dbname") or os.environ.get("PGDATABASE", "")

    def with_dbname(self, dbname: str) -> PgTarget:
        """The same server and credentials, another database."""
        return attrs.evolve(
            self, params={**self.params, "dbname": dbname}, redacted=f"{self.redacted} ({dbname})"
        )

    def conninfo(self, **override: str) -> str:
        """Return a libpq connection string without the password (safe for argv)."""
        return str(_psycopg().conninfo.make_conninfo("", **{**self.params, **override}))

    @contextlib.contextmanager
    def environment(self) -> Iterator[dict[str, str]]:
        """Yield an environment for the client tools: the password only in a 0600 PGPASSFILE.

        dbsnap's own settings (DBSNAP_*, BACKUP_*, DATABASE_URL) may hold passwords and are not
        passed on to the tools.
        """
        env = child_environment()
        if self.password is None:
            # The user's own PGPASSWORD / PGPASSFILE serve the tools exactly as they served the
            # preflight connection.
            env.update({k: v for k, v in os.environ.items() if k in ("PGPASSWORD", "PGPASSFILE")})
            yield env
            return
        # A scratch file: if this process is killed, the next run removes it, password and all.
        with scratch_file("pgpass") as scratch:
            escaped = self.password.replace("\\", "\\\\").replace(":", "\\:")
            scratch.path.write_text(f"*:*:*:*:{escaped}\n")
            env["PGPASSFILE"] = str(scratch.path)
            yield env

    def connect(self, *, missing_hint: str = "check its name", **override: str) -> Any:
        """Open a psycopg connection (autocommit), translating failures into one-line errors."""
        psycopg = _psycopg()
        params: dict[str, Any] = {**self.params, **override}
        if self.password is not None:
            params["password"] = self.password
        params.setdefault("connect_timeout", "10")
        try:
            return psycopg.connect(autocommit=True, **params)
        except psycopg.OperationalError as exc:
            raise connection_error(self.redacted, str(exc), missing_hint) from None


_AUTH = (
    "password authentication failed",
    "no password supplied",
    "authentication failed",
    "no pg_hba.conf entry",
    "password is required",
)
_NO_ROLE = re.compile(r'role ".*" does not exist')
_NO_DATABASE = re.compile(r'database ".*" does not exist')


def connection_error(where: str, message: str, missing_hint: str = "check its name") -> DriverError:
    """Turn a libpq connection failure into an error that says which kind it is and the fix.

    `missing_hint` is the fix for a database that does not exist (a restore can offer --create; a
    snapshot cannot).
    """
    text = scrub(" ".join(message.split()))
    lowered = message.lower()
    if _NO_DATABASE.search(message) and not _NO_ROLE.search(message):
        return DriverError(f"the database of {where} does not exist ({text}); {missing_hint}")
    if _NO_ROLE.search(message) or any(marker in lowered for marker in _AUTH):
        return DriverError(
            f"authentication failed for {where}: check the user (the role must exist) and its password, "
            f"PGPASSWORD or ~/.pgpass ({text})"
        )
    return DriverError(f"cannot reach the PostgreSQL server of {where}: {text}; is it running and reachable?")


def find_tool(name: str) -> str:
    """Return the path of pg_dump/pg_restore ($DBSNAP_PG_BINDIR first, then PATH) or explain."""
    bindir = os.environ.get("DBSNAP_PG_BINDIR")
    if bindir:
        candidate = Path(bindir) / name
        if os.access(candidate, os.X_OK):
            return str(candidate)
        raise DriverError(f"{name} not found in DBSNAP_PG_BINDIR={bindir}")
    found = shutil.which(name)
    if found is None:
        raise DriverError(
            f"{name} is not installed or not on PATH; install it (Debian/Ubuntu: apt-get install "
            f"{DEBIAN_PACKAGE}) or set DBSNAP_PG_BINDIR"
        )
    return _unwrapped(found, name)


def _unwrapped(found: str, name: str) -> str:
    """The real binary behind Debian's pg_wrapper (a perl script: tens of milliseconds a call).

    The wrapper picks a version by cluster; pg_dump, pg_restore and psql of the newest installed
    version serve every older server, so that one is used directly.
    """
    try:
        with open(found, "rb") as script:
            if b"perl" not in script.read(64):
                return found
    except OSError:
        return found
    versions = sorted(
        (int(p.parent.parent.name), p) for p in Path("/usr/lib/postgresql").glob(f"*/bin/{name}")
        if p.parent.parent.name.isdigit() and os.access(p, os.X_OK)
    )  # fmt: skip
    return str(versions[-1][1]) if versions else found


def tool_version(path: str) -> tuple[int, int, str]:
    """Return (major, minor, text) from `path --version`."""
    try:
        out = subprocess.run(
            [path, "--version"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
            env=child_environment(),
        )
    except OSError as exc:
        raise DriverError(f"cannot run {path}: {exc.strerror}") from None
    match = _VERSION.search(out.stdout)
    if match is None:
        raise DriverError(f"cannot read the version of {path} (it printed {out.stdout.strip()[:80]!r})")
    return int(match.group(1)), int(match.group(2) or 0), out.stdout.strip()


def server_version(conn: Any) -> tuple[int, str]:
    """Return the server's major version and its version string."""
    number = int(conn.info.server_version)
    major = number // 10000 if number >= 100000 else number // 100
    text = str(conn.execute("SHOW server_version").fetchone()[0])
    return major, text


def _client_version(tool: str) -> tuple[str, tuple[int, int, str]]:
    path = find_tool(tool)
    return path, tool_version(path)


@attrs.frozen
class ServerFacts:
    """What the preflight connection learnt.

    Attributes:
        server_version: The server's version string.
        tool_version: What `TOOL --version` printed.
        dbname: The database libpq connected to (a service file or PGDATABASE may have named it).
        host: The host (or socket folder) it reached.
        port: The port it reached.
    """

    server_version: str
    tool_version: str
    dbname: str
    host: str
    port: str


def check_versions(
    target: PgTarget, tool: str, *, missing_hint: str = "check its name", **override: str
) -> ServerFacts:
    """Connect, and read the server's facts and `tool --version` at once; refuse a client older than it.

    The tool is found and its version read in a thread while psycopg connects (Debian runs every
    client tool through a Perl wrapper, the slowest part of the check); an unreachable server is
    still reported before a missing tool.
    """
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        client = pool.submit(_client_version, tool)
        with target.connect(missing_hint=missing_hint, **override) as conn:
            server_major, server_text = server_version(conn)
            reached = (str(conn.info.dbname), str(conn.info.host), str(conn.info.port))
        path, (major, minor, text) = client.result()
    if major < server_major:
        raise DriverError(
            f"{tool} {major}.{minor} ({path}) is older than the PostgreSQL {server_text} server and cannot "
            f"dump it; install the PostgreSQL {server_major} client tools (Debian: postgresql-client-"
            f"{server_major}) or point DBSNAP_PG_BINDIR at them"
        )
    return ServerFacts(server_text, text, *reached)
