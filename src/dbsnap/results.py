"""What a snapshot run reports: each store's outcome, and the encryption it was asked for."""

from __future__ import annotations

import attrs

from dbsnap.exceptions import DbsnapError
from dbsnap.manifest import Snapshot
from dbsnap.stores.store import Store


class PartialSnapshotError(DbsnapError):
    """The snapshot was committed to some stores and failed on others; `result` says which."""

    exit_code = 4

    def __init__(self, message: str, result: SnapshotResult) -> None:
        """Keep the per-store `result` next to the message."""
        super().__init__(message)
        self.result = result


@attrs.frozen
class Encryption:
    """Who a snapshot is encrypted to (age public keys), and which stores get the encrypted copy.

    Attributes:
        recipients: age recipients (``age1...`` keys or SSH public keys).
        stores: The stores (URLs or Store objects) that get an encrypted copy while the others get
            the plain one; None: every store (one encrypted payload for all).
    """

    recipients: tuple[str, ...]
    stores: tuple[str | Store, ...] | None = None


@attrs.frozen
class SnapshotResult:
    """The outcome of one snapshot run across its stores.

    Attributes:
        snapshots: The committed snapshot, once per store that has it.
        failures: The error of each store that does not have it, by redacted store URL.
        duration: Seconds from the start of the dump to the last commit.
    """

    snapshots: list[Snapshot]
    failures: dict[str, BaseException]
    duration: float
