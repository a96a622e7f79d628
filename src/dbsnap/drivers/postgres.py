"""PostgreSQL driver: pg_dump streamed into the store, all-or-nothing pg_restore, scratch verification."""

from __future__ import annotations

import contextlib
import io
import logging
import re
import secrets
from collections.abc import Iterator, Sequence
from typing import Any

from dbsnap.codecs import Codec
from dbsnap.drivers.pgconn import PgTarget, check_versions, find_tool
from dbsnap.drivers.process import Tool
from dbsnap.exceptions import ConfigError, DriverError, VerificationError
from dbsnap.hookspecs import Register, hookimpl
from dbsnap.scratch import decoded_copy
from dbsnap.streams import Sink

log = logging.getLogger("dbsnap")
_TOC_TABLE = re.compile(r"^\d+; \d+ \d+ TABLE (?!DATA )(.+) (\S+)$")
MAINTENANCE_DB = "postgres"
# Tables as pg_restore --list names them: schema and name, unquoted, separated by one space.
_FIND_TABLE = (
    "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname || ' ' || c.relname = %s AND c.relkind IN ('r', 'p')"
)


def _strings(name: str, value: Sequence[str] | str | None) -> list[str]:
    if value is None:
        return []
    items = [value] if isinstance(value, str) else list(value)
    if not all(isinstance(v, str) and v for v in items):
        raise ConfigError(f"PostgreSQL option {name} must be non-empty strings")
    return items


@contextlib.contextmanager
def _input(payload: str, codec: Codec, *, seekable: bool = False) -> Iterator[tuple[list[str], Any]]:
    """Yield pg_restore's file argument or a decoded stream for its stdin.

    A plain payload is read in place. An encoded one is streamed through the decoder, or, when
    pg_restore must seek in it (--jobs), decoded into a temporary file that is removed after.
    """
    if codec.name == "none":
        yield [payload], None
        return
    if not seekable:
        with open(payload, "rb") as raw, codec.decoder(raw) as decoded:
            yield [], decoded
        return
    with decoded_copy(payload, codec, "restore", ".pgdump") as scratch:
        yield [str(scratch.path)], None


def toc_tables(payload: str, codec: Codec) -> list[str]:
    """Return "schema table" for every table in the archive's table of contents (pg_restore --list).

    pg_restore prints schema and name unquoted, separated by a space, so names with spaces are
    ambiguous here; verify_restore matches them against the restored catalog in the same form.
    """
    with _input(payload, codec) as (args, stream):
        tool = Tool([find_tool("pg_restore"), "--list", *args], {}, stdin=stream is not None, stdout=True)
        feeder = tool.feed_in_background(stream) if stream is not None else None
        listing = io.BytesIO()
        tool.pump_out(listing)
        if feeder is not None:
            feeder.join()
        try:
            tool.finish("reading the archive's table of contents")
        except DriverError as exc:
            raise VerificationError(f"the payload is not a readable pg_dump archive: {exc}") from None
    text = listing.getvalue().decode("utf-8", "replace")
    return [m.group(1) for m in map(_TOC_TABLE.match, text.splitlines()) if m is not None]


class PostgresDriver:
    """A PostgreSQL database, dumped with pg_dump --format=custom and restored with pg_restore."""

    name = "postgresql"
    extension = ".pgdump"
    # zstd over pg_dump --compress=0 was faster than pg_dump's own zlib and a third of its size on
    # the benchmark (docs/performance.md); asking for --compress keeps pg_dump's compression instead.
    default_codec = "zstd"

    def __init__(
        self,
        url: str,
        *,
        schemas: Sequence[str] | None = None,
        exclude_schemas: Sequence[str] | None = None,
        tables: Sequence[str] | None = None,
        exclude_tables: Sequence[str] | None = None,
        compress: int | None = None,
        extra_args: Sequence[str] | None = None,
    ) -> None:
        """Parse `url`; the options narrow or tune pg_dump."""
        self.target = PgTarget.parse(url)
        self.url = self.target.redacted
        if compress is not None and not (isinstance(compress, int) and 0 <= compress <= 9):
            raise ConfigError(f"PostgreSQL compress level must be 0..9, not {compress!r}")
        self.compress = compress
        if compress is not None:
            self.default_codec = "none"
        self.selection = (
            [f"--schema={s}" for s in _strings("schemas", schemas)]
            + [f"--exclude-schema={s}" for s in _strings("exclude_schemas", exclude_schemas)]
            + [f"--table={t}" for t in _strings("tables", tables)]
            + [f"--exclude-table={t}" for t in _strings("exclude_tables", exclude_tables)]
        )
        self.extra_args = _strings("extra_args", extra_args)
        self._facts: dict[str, Any] = {}

    def label(self) -> str:
        """Return the database name."""
        return self.target.dbname

    def preflight(self) -> None:
        """Connect, read the server version, and refuse a pg_dump older than the server."""
        text, dump_text = check_versions(self.target, "pg_dump")
        self._facts = {"server_version": text, "pg_dump_version": dump_text}

    def dump(self, sink: Sink, *, codec: str = "none") -> dict[str, Any]:
        """Stream pg_dump --format=custom's stdout into `sink`; raise with pg_dump's own words on failure."""
        if not self._facts:
            self.preflight()
        if codec != "none" and self.compress:
            raise ConfigError(
                f"--compress {self.compress} is pg_dump's own compression, used only with --codec none; "
                f"the {codec} codec compresses instead: drop --compress or add --codec none"
            )
        level = 0 if codec != "none" else self.compress
        argv = [
            find_tool("pg_dump"),
            "--format=custom",
            *([f"--compress={level}"] if level is not None else []),
            *self.selection,
            *self.extra_args,
            f"--dbname={self.target.conninfo()}",
        ]
        with self.target.environment() as env:
            tool = Tool(argv, env, stdout=True)
            tool.pump_out(sink)
            tool.finish(f"pg_dump of {self.url}")
        return {**self._facts, "format": "custom", "compress": level, "dbname": self.target.dbname}

    def _exists(self) -> bool:
        with self.target.connect(dbname=MAINTENANCE_DB) as conn:
            row = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (self.target.dbname,)
            ).fetchone()
        return row is not None

    def _create(self, dbname: str) -> None:
        from psycopg import sql

        with self.target.connect(dbname=MAINTENANCE_DB) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))

    def _drop(self, dbname: str) -> None:
        from psycopg import sql

        with self.target.connect(dbname=MAINTENANCE_DB) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))

    def restore(
        self,
        payload: str,
        codec: Codec,
        *,
        jobs: int | None = None,
        no_owner: bool = False,
        no_privileges: bool = False,
        create: bool = False,
    ) -> None:
        """pg_restore --clean --if-exists --single-transaction (or --jobs N) into the target."""
        created = False
        if create and not self._exists():
            self._create(self.target.dbname)
            created = True
        try:
            self._pg_restore(self.target.dbname, payload, codec, jobs, no_owner, no_privileges, clean=True)
        except BaseException:
            if created:
                self._drop(self.target.dbname)
            raise

    def _pg_restore(
        self,
        dbname: str,
        payload: str,
        codec: Codec,
        jobs: int | None,
        no_owner: bool,
        no_privileges: bool,
        clean: bool,
    ) -> None:
        check_versions(self.target, "pg_restore", dbname=dbname)
        argv = [find_tool("pg_restore"), "--exit-on-error"]
        argv += ["--clean", "--if-exists"] if clean else []
        parallel = jobs is not None and jobs > 1
        if parallel:
            argv.append(f"--jobs={jobs}")
            log.warning(
                "Database backup: --jobs %d restores are not one transaction; a failure can leave %s partly "
                "restored",
                jobs,
                self.url,
            )
        else:
            argv.append("--single-transaction")
        argv += ["--no-owner"] if no_owner else []
        argv += ["--no-privileges"] if no_privileges else []
        argv.append(f"--dbname={self.target.conninfo(dbname=dbname)}")
        with _input(payload, codec, seekable=parallel) as (args, stream), self.target.environment() as env:
            tool = Tool([*argv, *args], env, stdin=stream is not None)
            if stream is not None:
                tool.pump_in(stream)
            tool.finish(
                f"restore into {self.url} (nothing was changed)"
                if jobs is None
                else f"restore into {self.url}"
            )

    def verify_restore(self, payload: str, codec: Codec) -> dict[str, Any]:
        """Restore into a scratch database, check every table of the TOC exists, count rows, drop it."""
        from psycopg import sql

        tables = toc_tables(payload, codec)
        scratch = f"dbsnap_verify_{secrets.token_hex(6)}"
        self._create(scratch)
        try:
            try:
                self._pg_restore(scratch, payload, codec, None, True, True, clean=False)
            except DriverError as exc:
                raise VerificationError(f"the snapshot does not restore: {exc}") from None
            counts: dict[str, int] = {}
            with self.target.connect(dbname=scratch) as conn:
                for entry in tables:
                    found = conn.execute(_FIND_TABLE, (entry,)).fetchone()
                    if found is None:
                        raise VerificationError(
                            f"table {entry!r} is in the archive but not in the restored copy"
                        )
                    ident = sql.Identifier(found[0], found[1])
                    row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(ident)).fetchone()
                    counts[f"{found[0]}.{found[1]}"] = int(row[0])
            return {"scratch_database": scratch, "tables": counts}
        finally:
            self._drop(scratch)

    @staticmethod
    def check_payload(payload: str, codec: Codec) -> dict[str, Any]:
        """Read the archive's table of contents with pg_restore --list (no database needed)."""
        return {"tables": len(toc_tables(payload, codec))}


@hookimpl
def dbsnap_register_drivers(register: Register) -> None:
    """Register the PostgreSQL driver for postgresql:// and postgres:// URLs."""
    register("postgresql", PostgresDriver)
    register("postgres", PostgresDriver)
