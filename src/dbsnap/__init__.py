"""dbsnap: consistent database snapshots, stored safely, proven restorable, pruned by policy."""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (it costs `dbsnap --version` 5 ms)

__version__ = "0.1.0"

# Each public name and the module it lives in: imported on first use, so `import dbsnap` (and
# `dbsnap --version`) stays cheap.
_EXPORTS = {
    "PartialSnapshotError": "dbsnap.results",
    "SnapshotResult": "dbsnap.results",
    "list_snapshots": "dbsnap.listing",
    "restore": "dbsnap.restoring",
    "snapshot": "dbsnap.snapshotting",
    "Config": "dbsnap.config",
    "ConfigError": "dbsnap.exceptions",
    "DbsnapError": "dbsnap.exceptions",
    "DriverError": "dbsnap.exceptions",
    "DriverMismatchError": "dbsnap.exceptions",
    "InvalidNameError": "dbsnap.exceptions",
    "ManifestError": "dbsnap.exceptions",
    "MissingExtraError": "dbsnap.exceptions",
    "PluginError": "dbsnap.exceptions",
    "RestoreRefused": "dbsnap.exceptions",
    "SnapshotExistsError": "dbsnap.exceptions",
    "SnapshotNotFound": "dbsnap.exceptions",
    "StoreError": "dbsnap.exceptions",
    "UnknownSchemeError": "dbsnap.exceptions",
    "VerificationError": "dbsnap.exceptions",
    "hookimpl": "dbsnap.hookspecs",
    "Snapshot": "dbsnap.manifest",
    "PruneResult": "dbsnap.pruning",
    "prune": "dbsnap.pruning",
    "EmptyPolicyError": "dbsnap.retention",
    "Plan": "dbsnap.retention",
    "Policy": "dbsnap.retention",
    "Verification": "dbsnap.verifying",
    "verify": "dbsnap.verifying",
    "check": "dbsnap.checking",
    "drill": "dbsnap.drilling",
    "adopt": "dbsnap.adopting",
}

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
    "adopt",
    "check",
    "drill",
    "hookimpl",
    "list_snapshots",
    "prune",
    "restore",
    "snapshot",
    "verify",
]


def __getattr__(name: str) -> Any:
    """Import a public name's module (or a submodule, ``dbsnap.api``) the first time it is used."""
    import importlib

    module = _EXPORTS.get(name)
    if module is None:
        try:
            return importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module 'dbsnap' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public names, for completion and dir()."""
    return __all__


if TYPE_CHECKING:
    from typing import Any

    from dbsnap.adopting import adopt
    from dbsnap.checking import check
    from dbsnap.config import Config
    from dbsnap.drilling import drill
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
    from dbsnap.listing import list_snapshots
    from dbsnap.manifest import Snapshot
    from dbsnap.pruning import PruneResult, prune
    from dbsnap.restoring import restore
    from dbsnap.results import PartialSnapshotError, SnapshotResult
    from dbsnap.retention import EmptyPolicyError, Plan, Policy
    from dbsnap.snapshotting import snapshot
    from dbsnap.verifying import Verification, verify
