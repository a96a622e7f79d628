"""The exceptions dbsnap raises; each also subclasses the builtin it resembles."""

from __future__ import annotations


class DbsnapError(Exception):
    """Base class of every error dbsnap raises on purpose; its message is one line with the fix."""

    exit_code: int = 1


class ConfigError(DbsnapError, ValueError):
    """A URL, option or environment variable is malformed or missing."""

    exit_code = 2


class InvalidNameError(ConfigError):
    """A snapshot name is not allowed (path separators, leading dot, reserved suffix, too long)."""


class MissingExtraError(DbsnapError, ImportError):
    """An optional dependency is not installed; the message names the pip install to run."""


class PluginError(DbsnapError, RuntimeError):
    """A plugin misbehaved: two plugins claim one name, or a hook is misspelled."""


class UnknownSchemeError(ConfigError, LookupError):
    """No installed driver handles a database URL's scheme."""


class SnapshotNotFound(DbsnapError, LookupError):
    """No snapshot of that name (with a manifest) is in the store."""


class SnapshotExistsError(DbsnapError, FileExistsError):
    """A snapshot of that name already exists; dbsnap never overwrites one."""


class StoreError(DbsnapError, OSError):
    """A store could not be read or written."""


class StoreMissing(StoreError, FileNotFoundError):
    """The store's folder (bucket prefix) does not exist: a mistyped path, or nothing written yet."""

    exit_code = 10


class LockHeld(DbsnapError, BlockingIOError):
    """Another run holds the store's lock for this database and did not let go in time."""

    exit_code = 11


class ManifestError(DbsnapError, ValueError):
    """A manifest is not valid JSON or does not describe a snapshot dbsnap can trust."""

    exit_code = 3


class VerificationError(DbsnapError):
    """Stored bytes do not match their manifest, or a restored copy failed its check."""

    exit_code = 3


class DriverError(DbsnapError, RuntimeError):
    """A database tool or connection failed."""


class DriverMismatchError(DriverError, ValueError):
    """A snapshot made by one driver was asked to restore into another kind of database."""


class RestoreRefused(DbsnapError, PermissionError):
    """A restore was not confirmed, so nothing was changed."""
