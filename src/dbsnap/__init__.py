"""dbsnap: consistent database snapshots, stored safely, proven restorable, pruned by policy."""

from __future__ import annotations

__version__ = "0.1.0"

from dbsnap.api import (
    PartialSnapshotError,
    SnapshotResult,
    list_snapshots,
    restore,
    snapshot,
)
from dbsnap.config import Config
from dbsnap.exceptions import (
    ConfigError,
    DbsnapError,
    DriverError,
    DriverMismatchError,
    InvalidNameError,
    ManifestError,
    MissingExtraError,
    PluginError,
    RestoreRefused,
    SnapshotExistsError,
    SnapshotNotFound,
    StoreError,
    UnknownSchemeError,
    VerificationError,
)
from dbsnap.hookspecs import hookimpl
from dbsnap.manifest import Snapshot
from dbsnap.pruning import PruneResult, prune
from dbsnap.retention import EmptyPolicyError, Plan, Policy
from dbsnap.verifying import Verification, verify

__all__ = [
    "Config",
    "ConfigError",
    "DbsnapError",
    "DriverError",
    "DriverMismatchError",
    "EmptyPolicyError",
    "InvalidNameError",
    "ManifestError",
    "MissingExtraError",
    "PartialSnapshotError",
    "Plan",
    "PluginError",
    "Policy",
    "PruneResult",
    "RestoreRefused",
    "Snapshot",
    "SnapshotExistsError",
    "SnapshotNotFound",
    "SnapshotResult",
    "StoreError",
    "UnknownSchemeError",
    "Verification",
    "VerificationError",
    "__version__",
    "hookimpl",
    "list_snapshots",
    "prune",
    "restore",
    "snapshot",
    "verify",
]
