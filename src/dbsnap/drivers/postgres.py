"""PostgreSQL driver: pg_dump streamed into the store, all-or-nothing restores, scratch verification."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from dbsnap.codecs import Codec
from dbsnap.drivers.base import (
    CHECK_PAYLOAD,
    PARALLEL_RESTORE,
    QUERIES,
    SOURCE,
    VERIFY_RESTORE,
    DriverOption,
)
from dbsnap.drivers.pgargs import check_dump_args
from dbsnap.drivers.pgconn import PgTarget, ServerFacts, check_versions, find_tool
from dbsnap.drivers.pgplain import is_plain
from dbsnap.drivers.pgrestore import DEFAULT_LOCK_TIMEOUT, restore_in_place, wipe
from dbsnap.drivers.pgscratch import MAINTENANCE_DB, run_queries, scratch_database
from dbsnap.drivers.pgtoc import archive_input, missing_tables, toc_tables
from dbsnap.drivers.process import Tool
from dbsnap.exceptions import ConfigError, DriverError, VerificationError
from dbsnap.streams import Sink

log = logging.getLogger("dbsnap")
_CATALOG_TABLES = (
    "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
    "AND n.nspname NOT LIKE 'pg\\_toast%'"
)
RESTORE_MISSING = "create it first, or restore with --create"


def _strings(name: str, value: Sequence[str] | str | None) -> list[str]:
    if value is None:
        return []
    items = [value] if isinstance(value, str) else list(value)
    if not all(isinstance(v, str) and v for v in items):
        raise ConfigError(f"PostgreSQL option {name} must be non-empty strings")
    return items


class PostgresDriver:
    """A PostgreSQL database, dumped with pg_dump --format=custom and restored with pg_restore."""

    name = "postgresql"
    extension = ".pgdump"
    # zstd over pg_dump --compress=0 was faster than pg_dump's own zlib and a third of its size on
    # the benchmark (docs/performance.md); asking for --compress keeps pg_dump's compression instead.
    default_codec = "zstd"
    capabilities = frozenset({VERIFY_RESTORE, CHECK_PAYLOAD, QUERIES, PARALLEL_RESTORE, SOURCE})
    options = (
        DriverOption("schemas", "list", None, "dump only schemas matching this pattern (--schema)"),
        DriverOption("exclude_schemas", "list", None, "do not dump matching schemas (--exclude-schema)"),
        DriverOption("tables", "list", None, "dump only tables matching this pattern (--table)"),
        DriverOption("exclude_tables", "list", None, "do not dump matching tables (--exclude-table)"),
        DriverOption("compress", "int", None, "pg_dump's own compression 0-9 (implies codec none)"),
        DriverOption("extra_args", "list", None, "one more pg_dump argument (--pg-dump-arg)"),
        DriverOption("jobs", "int", None, "parallel pg_restore workers; not one transaction", ("restore",)),
        DriverOption("no_owner", "bool", False, "do not restore object owners", ("restore",)),
        DriverOption("no_privileges", "bool", False, "do not restore grants", ("restore",)),
        DriverOption("create", "bool", False, "create the database if it does not exist", ("restore",)),
        DriverOption(
            "lock_timeout", "duration", DEFAULT_LOCK_TIMEOUT, "give up after waiting this long for locks",
            ("restore",),
        ),
    )  # fmt: skip

    def __init__(
        self,
        url: str,
        *,
        codec: str | None = None,
        schemas: Sequence[str] | None = None,
        exclude_schemas: Sequence[str] | None = None,
        tables: Sequence[str] | None = None,
        exclude_tables: Sequence[str] | None = None,
        compress: int | None = None,
        extra_args: Sequence[str] | None = None,
    ) -> None:
        """Parse `url`; `codec` will encode the dump; the options narrow or tune pg_dump."""
        self.target = PgTarget.parse(url)
        self.url = self.target.redacted
        if compress is not None and not (isinstance(compress, int) and 0 <= compress <= 9):
            raise ConfigError(f"PostgreSQL compress level must be 0..9, not {compress!r}")
        self.compress = compress
        if compress is not None:
            self.default_codec = "none"
        self.codec = codec or self.default_codec
        if self.codec != "none" and compress:
            raise ConfigError(
                f"--compress {compress} is pg_dump's own compression, used only with --codec none; "
                f"the {self.codec} codec compresses instead: drop --compress or add --codec none"
            )
        self.selection = (
            [f"--schema={s}" for s in _strings("schemas", schemas)]
            + [f"--exclude-schema={s}" for s in _strings("exclude_schemas", exclude_schemas)]
            + [f"--table={t}" for t in _strings("tables", tables)]
            + [f"--exclude-table={t}" for t in _strings("exclude_tables", exclude_tables)]
        )
        self.extra_args = check_dump_args(_strings("extra_args", extra_args))
        self._facts: dict[str, Any] = {}
        self._server: ServerFacts | None = None

    def label(self) -> str:
        """Return the database name (known once connected when a service file names it)."""
        return self.target.dbname or (self._server.dbname if self._server else "") or "postgresql"

    def source(self) -> dict[str, str]:
        """Where the database is: host (or socket folder), port and name as the connection reached them."""
        server = self._server or check_versions(self.target, "pg_dump")
        return {"host": server.host, "port": server.port, "dbname": server.dbname}

    def preflight(self) -> None:
        """Connect, read the server version, and refuse a pg_dump older than the server."""
        self._server = check_versions(self.target, "pg_dump")
        self._facts = {
            "server_version": self._server.server_version,
            "pg_dump_version": self._server.tool_version,
        }

    def dump(self, sink: Sink) -> dict[str, Any]:
        """Stream pg_dump --format=custom's stdout into `sink`; raise with pg_dump's own words on failure."""
        if not self._facts:
            self.preflight()
        level = 0 if self.codec != "none" else self.compress
        argv = [
            find_tool("pg_dump"),
            "--format=custom",
            *([f"--compress={level}"] if level is not None else []),
            *self.selection,
            *self.extra_args,
            f"--dbname={self.target.conninfo()}",
        ]
        with self.target.environment() as env, Tool(argv, env, stdout=True) as tool:
            tool.pump_out(sink)
            tool.finish(f"pg_dump of {self.url}")
        return {**self._facts, "format": "custom", "compress": level}

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
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    ) -> None:
        """Make the database exactly the snapshot's, in one transaction (or with --jobs N, in parallel)."""
        if not isinstance(lock_timeout, int | float) or lock_timeout <= 0:
            raise ConfigError(f"lock_timeout must be a positive number of seconds, not {lock_timeout!r}")
        created = False
        if create and not self._exists():
            self._create(self.target.dbname)
            created = True
        plain = is_plain(payload, codec)
        if plain and jobs is not None and jobs > 1:
            raise ConfigError("a plain SQL backup is restored by psql in one transaction; drop --jobs")
        try:
            check_versions(self.target, "pg_restore", missing_hint=RESTORE_MISSING)
            if jobs is not None and jobs > 1:
                self._parallel(payload, codec, jobs, no_owner, no_privileges, lock_timeout)
            else:
                restore_in_place(
                    self.target,
                    payload,
                    codec,
                    no_owner=no_owner,
                    no_privileges=no_privileges,
                    lock_timeout=lock_timeout,
                    plain=plain,
                )
        except BaseException:
            if created:
                self._drop(self.target.dbname)
            raise

    def _parallel(
        self, payload: str, codec: Codec, jobs: int, no_owner: bool, no_privileges: bool, lock_timeout: float
    ) -> None:
        log.warning(
            "Database backup: --jobs %d restores are not one transaction; a failure can leave %s partly "
            "restored",
            jobs,
            self.url,
        )
        wipe(self.target, lock_timeout)
        flags = [f"--jobs={jobs}"] + ["--no-owner"] * no_owner + ["--no-privileges"] * no_privileges
        self._pg_restore(self.target.dbname, payload, codec, flags, f"restore into {self.url}")

    def _pg_restore(self, dbname: str, payload: str, codec: Codec, flags: list[str], what: str) -> None:
        """Run pg_restore --exit-on-error straight into `dbname` (no clean: it is empty)."""
        argv = [find_tool("pg_restore"), "--exit-on-error", *flags]
        argv.append(f"--dbname={self.target.conninfo(dbname=dbname)}")
        seekable = any(flag.startswith("--jobs") for flag in flags)
        with (
            archive_input(payload, codec, seekable=seekable) as (args, stream),
            self.target.environment() as env,
            Tool([*argv, *args], env, stdin=stream is not None) as tool,
        ):
            if stream is not None:
                tool.pump_in(stream)
            tool.finish(what)

    def verify_restore(self, payload: str, codec: Codec, *, queries: Sequence[str] = ()) -> dict[str, Any]:
        """Restore into a scratch database, check every table of the TOC exists, count rows, drop it.

        Each of `queries` runs there, read-only; the first column of its first row is reported.
        """
        from psycopg import sql

        check_versions(self.target, "pg_restore")
        plain = is_plain(payload, codec)
        tables = [] if plain else toc_tables(payload, codec)
        with scratch_database(self.target) as scratch:
            try:
                what = f"restore into scratch database {scratch}"
                if plain:
                    restore_in_place(
                        self.target.with_dbname(scratch),
                        payload,
                        codec,
                        no_owner=True,
                        no_privileges=True,
                        lock_timeout=DEFAULT_LOCK_TIMEOUT,
                        plain=True,
                    )
                else:
                    flags = ["--single-transaction", "--no-owner", "--no-privileges"]
                    self._pg_restore(scratch, payload, codec, flags, what)
            except DriverError as exc:
                raise VerificationError(f"the snapshot does not restore: {exc}") from None
            counts: dict[str, int] = {}
            with self.target.connect(dbname=scratch) as conn:
                catalog = [(str(r[0]), str(r[1])) for r in conn.execute(_CATALOG_TABLES).fetchall()]
                missing = missing_tables(tables, catalog)
                if missing:
                    raise VerificationError(
                        f"table {missing[0]!r} is in the archive but not in the restored copy"
                    )
                for schema, table in sorted(catalog):
                    ident = sql.Identifier(schema, table)
                    row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(ident)).fetchone()
                    counts[f"{schema}.{table}"] = int(row[0])
                answers = run_queries(conn, queries)
            found: dict[str, Any] = {"scratch_database": scratch, "tables": counts}
            return {**found, "queries": answers} if queries else found

    @staticmethod
    def check_payload(payload: str, codec: Codec) -> dict[str, Any]:
        """Read the archive's table of contents with pg_restore --list (no database needed)."""
        if is_plain(payload, codec):
            return {"format": "plain", "note": "plain SQL: only a restore (verify --restore) checks it"}
        return {"tables": len(toc_tables(payload, codec))}
