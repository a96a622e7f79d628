"""A MySQL/MariaDB dump in four parts that read, one after the other, as one plain SQL script.

1. tables and rows (`--single-transaction`: one consistent read of InnoDB tables), without triggers
   or views; 2. triggers and routines; 3. views; 4. events. `zstd -d < payload | mariadb DB` restores
   it with nothing but the client. dbsnap's own restore loads part 1 into a staging database and
   moves the tables into place in one RENAME; parts 2-4 are schema objects that cannot move across
   databases, so they are created in the live database after the swap (dbsnap.drivers.mysqlswap).
"""

from __future__ import annotations

from dbsnap.contract import Sink, Source, Tool, VerificationError, child_environment
from dbsnap.drivers.mysqlconn import MyTarget, dump_argv, ident

MARKER = b"-- dbsnap:part "
PARTS = ("tables", "triggers-and-routines", "views", "events")
COMPLETED = b"-- Dump completed"  # mariadb-dump's (and mysqldump's) last line
COMMON = ("--skip-dump-date", "--hex-blob", "--no-tablespaces")


def _views(target: MyTarget) -> list[str]:
    rows = target.query(
        "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
        "AND TABLE_TYPE = 'VIEW' ORDER BY TABLE_NAME"
    )
    return [row[0] for row in rows]


def _flags(target: MyTarget, part: str, views: list[str]) -> tuple[list[str], list[str]]:
    """mariadb-dump's flags and table arguments for one part."""
    if part == "tables":
        ignored = [f"--ignore-table={target.dbname}.{view}" for view in views]
        return ["--single-transaction", "--skip-triggers", *ignored], []
    if part == "triggers-and-routines":
        return ["--no-data", "--no-create-info", "--triggers", "--routines", "--skip-events"], []
    if part == "views":
        return ["--no-data", "--skip-triggers"], views
    return ["--no-data", "--no-create-info", "--skip-triggers", "--events"], []


def dump(target: MyTarget, sink: Sink, parts: tuple[str, ...] = PARTS) -> int:
    """Write the dump's parts to `sink`, each after its marker line; return the bytes written."""
    views = _views(target)
    total = 0
    with target.option_file() as options:
        for part in parts:
            flags, tables = _flags(target, part, views)
            header = MARKER + part.encode() + b"\n"
            sink.write(header)
            total += len(header)
            if part == "views" and not views:
                sink.write(COMPLETED + b" (no views)\n")  # naming no table would dump every table
                continue
            argv = dump_argv(target, options, *COMMON, *flags, tables=tables)
            with Tool(argv, child_environment(), stdout=True) as tool:
                total += tool.pump_out(sink)
                tool.finish(f"mariadb-dump ({part}) of {target.redacted}")
    return total


def split(source: Source, tables: Sink) -> dict[str, bytes]:
    """Stream part 1 of a dump into `tables`; return the other parts' SQL (small DDL), by name.

    Raises VerificationError unless every part is there and ends as mariadb-dump ends a dump: a
    payload cut short must not restore as a smaller database.
    """
    part, buffer, pending, parts = "", bytearray(), b"", {}
    completed: set[str] = set()
    while True:
        block = source.read(1 << 20)
        lines = (pending + block).split(b"\n")
        pending = lines.pop() if block else b""
        for line in lines:
            if line.startswith(MARKER):
                if part and part != "tables":
                    parts[part] = bytes(buffer)
                part, buffer = line[len(MARKER) :].decode(errors="replace").strip(), bytearray()
                continue
            if line.startswith(COMPLETED):
                completed.add(part)
            if part == "tables":
                tables.write(line + b"\n")
            else:
                buffer += line + b"\n"
        if not block:
            break
    if part and part != "tables":
        parts[part] = bytes(buffer)
    missing = [p for p in PARTS if p not in completed]
    if missing:
        raise VerificationError(
            f"the snapshot is not a whole dbsnap MySQL dump: its {missing[0]} part is missing or cut short"
        )
    return parts


def objects_sql(target: MyTarget) -> bytes:
    """The live database's schema objects (parts 2-4): what a failed swap restores."""
    collected = bytearray()

    class _Collect:
        def write(self, data: bytes, /) -> int:
            collected.extend(data)
            return len(data)

    dump(target, _Collect(), PARTS[1:])
    return bytes(collected)


def drop_objects_sql(target: MyTarget) -> bytes:
    """SQL that drops every trigger, view, routine and event of the target's database."""
    rows = target.query(
        "SELECT 'TRIGGER', TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE() "
        "UNION ALL SELECT 'VIEW', TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = DATABASE() "
        "UNION ALL SELECT ROUTINE_TYPE, ROUTINE_NAME FROM information_schema.ROUTINES "
        "WHERE ROUTINE_SCHEMA = DATABASE() "
        "UNION ALL SELECT 'EVENT', EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = DATABASE()"
    )
    return "".join(f"DROP {kind} IF EXISTS {ident(name)};\n" for kind, name in rows).encode()
