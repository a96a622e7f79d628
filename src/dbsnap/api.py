"""The public operations in one place: snapshot, list_snapshots, verify, restore, prune, copy."""

from __future__ import annotations

from dbsnap.listing import Survey, latest, list_snapshots, read_stores
from dbsnap.restoring import restore
from dbsnap.snapshotting import (
    Encryption,
    PartialSnapshotError,
    SnapshotResult,
    copy_snapshot,
    snapshot,
    snapshot_to_stores,
)

__all__ = [
    "Encryption",
    "PartialSnapshotError",
    "SnapshotResult",
    "Survey",
    "copy_snapshot",
    "latest",
    "list_snapshots",
    "read_stores",
    "restore",
    "snapshot",
    "snapshot_to_stores",
]
