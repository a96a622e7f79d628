"""Reading a pg_dump archive: handing it to pg_restore, and its table of contents (pg_restore --list)."""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Iterator
from typing import Any

from dbsnap.codecs import Codec
from dbsnap.drivers.pgconn import find_tool
from dbsnap.drivers.process import Tool
from dbsnap.exceptions import DriverError, VerificationError
from dbsnap.scratch import decoded_copy

# A table's entry: "ID; 1259 OID TABLE schema name owner". 1259 is pg_class's catalog OID, fixed
# since PostgreSQL's bootstrap; "TABLE DATA" and "TABLE ATTACH" entries carry another catalog id, so
# they can never be mistaken for tables, whatever the names hold.
_TOC_TABLE = re.compile(r"^\d+; 1259 \d+ TABLE (.*)$")


@contextlib.contextmanager
def archive_input(payload: str, codec: Codec, *, seekable: bool = False) -> Iterator[tuple[list[str], Any]]:
    """Yield pg_restore's file argument, or a decoded stream for its stdin.

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
    """Return "schema name owner" of every table in the archive's table of contents.

    pg_restore prints schema, name and owner unquoted, separated by spaces, with any newline in them
    replaced by a space; `restored_matches` compares them with a catalog in that same form.
    """
    with (
        archive_input(payload, codec) as (args, stream),
        Tool([find_tool("pg_restore"), "--list", *args], {}, stdin=stream is not None, stdout=True) as tool,
    ):
        if stream is not None:
            tool.feed_in_background(stream)
        listing = io.BytesIO()
        tool.pump_out(listing)
        try:
            tool.finish("reading the archive's table of contents")
        except DriverError as exc:
            raise VerificationError(f"the payload is not a readable pg_dump archive: {exc}") from None
    text = listing.getvalue().decode("utf-8", "replace")
    return [m.group(1) for m in map(_TOC_TABLE.match, text.splitlines()) if m is not None]


def listed_form(schema: str, name: str) -> str:
    """Return "schema name " as pg_restore --list prints a table's schema and name (before its owner)."""
    return f"{schema} {name} ".replace("\r", " ").replace("\n", " ")


def missing_tables(entries: list[str], catalog: list[tuple[str, str]]) -> list[str]:
    """Return the archive's table entries that no (schema, name) of the restored catalog accounts for."""
    forms = [listed_form(schema, name) for schema, name in catalog]
    return [entry for entry in entries if not any(f"{entry} ".startswith(form) for form in forms)]
