"""The public operations in one place: snapshot, list, verify, restore, prune, copy, check, drill, adopt."""

from __future__ import annotations

from dbsnap.adopting import adopt
from dbsnap.checking import Limits, Report, check
from dbsnap.drilling import drill
from dbsnap.listing import Survey, latest, list_snapshots, read_stores
from dbsnap.pruning import prune
from dbsnap.restoring import restore
from dbsnap.snapshotting import (
    Encryption,
    PartialSnapshotError,
    SnapshotResult,
    copy_snapshot,
    snapshot,
    snapshot_to_stores,
)
from dbsnap.verifying import verify

__all__ = [
    "Encryption",
    "Limits",
    "PartialSnapshotError",
    "Report",
    "SnapshotResult",
    "Survey",
    "adopt",
    "check",
    "copy_snapshot",
    "drill",
    "latest",
    "list_snapshots",
    "prune",
    "read_stores",
    "restore",
    "snapshot",
    "snapshot_to_stores",
    "verify",
]
