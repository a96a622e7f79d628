"""Plain SQL payloads (pg_dump's plain format, which the original backup system wrote as .sql files)."""

from __future__ import annotations

from dbsnap.codecs import Codec
from dbsnap.exceptions import DbsnapError, VerificationError
from dbsnap.streams import Source

MAGIC = b"PGDMP"


def is_plain(payload: str, codec: Codec) -> bool:
    """Tell whether a payload is SQL text rather than a pg_dump archive (custom format)."""
    try:
        with open(payload, "rb") as raw, codec.decoder(raw) as decoded:
            head = decoded.read(len(MAGIC))
    except DbsnapError:
        raise
    except Exception as exc:  # noqa: BLE001 - a codec's own error: the bytes do not decode
        raise VerificationError(
            f"the payload is not a readable pg_dump archive: it does not decode with {codec.name} ({exc})"
        ) from None
    return head != MAGIC


class CommitAtEnd:
    """A source that adds COMMIT after the whole of another: a stream cut short never commits."""

    def __init__(self, source: Source) -> None:
        """Read `source`, then a COMMIT."""
        self.source = source
        self.done = False

    def read(self, size: int = -1, /) -> bytes:
        """Return the next bytes of the source, then the COMMIT, then nothing."""
        if self.done:
            return b""
        data = self.source.read(size)
        if data:
            return data
        self.done = True
        return b"\nCOMMIT;\n"
