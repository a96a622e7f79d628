"""The Driver protocol every database driver implements, and URL helpers they share."""

from __future__ import annotations

from typing import Any, Protocol

from dbsnap.codecs import Codec
from dbsnap.streams import Sink


class Driver(Protocol):
    """Dumps one database to a byte sink, restores it from a verified local file.

    Attributes:
        name: The driver's name, recorded in manifests (``sqlite``, ``postgresql``).
        extension: What a default snapshot name ends in before the codec's extension.
        default_codec: The codec used when none is asked for.
        url: The database URL with any password redacted, for messages.
    """

    name: str
    extension: str
    default_codec: str
    url: str

    def label(self) -> str:
        """Return the default database label (SQLite file stem, PostgreSQL database name)."""

    def preflight(self) -> None:
        """Check, before any work, that a dump can run; raise a DbsnapError with the fix."""

    def dump(self, sink: Sink, *, codec: str) -> dict[str, Any]:
        """Write a consistent dump to `sink` in bounded chunks; return the driver_info facts.

        `codec` names the codec that will encode the output, so a driver whose tool compresses
        on its own (pg_dump) can leave compression to the codec instead.
        """

    def restore(self, payload: str, codec: Codec, **options: Any) -> None:
        """Replace the database's content with the verified payload file at `payload`."""


def source_of(driver: Any) -> dict[str, Any]:
    """Return where the driver's database is (its optional ``source()``), or {} for a driver without one.

    A snapshot without a source is told apart from others by its label only.
    """
    method = getattr(driver, "source", None)
    return dict(method()) if callable(method) else {}


class DriverFactory(Protocol):
    """What a driver plugin registers: called with the database URL and driver options."""

    def __call__(self, url: str, **options: Any) -> Driver:
        """Build a driver for `url`."""
