"""The object layer: the few primitives a storage medium offers, and nothing about snapshots.

A medium is a flat folder of named objects (a local folder, a folder on an SFTP server, a prefix of
an S3 bucket). It knows no manifests, names, locks or retention: the snapshot layer
(`dbsnap.stores.store`) builds all of that from these primitives, and a medium declares how it can
make an object appear atomically, which decides the commit protocol the snapshot layer uses:

- ``commit = "rename"``: objects are written under a temporary name and renamed into place without
  ever replacing an existing one (local disks, SFTP).
- ``commit = "create"``: an object is created under its final name by a conditional write that
  fails if the name exists, and becomes visible whole or not at all (S3's ``If-None-Match: *``);
  small objects can be replaced conditionally on their version (``If-Match``), which leases use.
"""

from __future__ import annotations

import abc
from typing import IO

import attrs

from dbsnap.exceptions import StoreError

# Manifests, locks and leases are a few hundred bytes; anything bigger is not dbsnap's.
SMALL_LIMIT = 64 * 1024


@attrs.frozen
class ObjectInfo:
    """What a listing says about one object.

    Attributes:
        name: The object's name in the folder.
        size: Its size in bytes, when known.
        mtime: Its modification time (seconds since the epoch), when known.
        regular: False for anything that is not a plain file (folder, FIFO, device, symlink): such
            an entry is never opened.
        version: An opaque version (S3's ETag) for conditional replaces, when the medium has one.
    """

    name: str
    size: int | None
    mtime: float | None
    regular: bool = True
    version: str | None = None


class ObjectTooLarge(StoreError):
    """A small object (a manifest, a lock) is bigger than any dbsnap writes: it is not read."""


class NotRegular(StoreError):
    """The name is not a plain file (a FIFO, a folder, a symlink): it is never opened."""


class VersionConflict(StoreError):
    """A conditional replace lost: the object changed (or vanished) since its version was read."""


class Writer(abc.ABC):
    """A new object being written; it exists under its name only once close() returned."""

    @abc.abstractmethod
    def write(self, data: bytes, /) -> int:
        """Write `data` (the medium may buffer it)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Make the object complete and durable (and, for a create medium, visible)."""

    @abc.abstractmethod
    def abort(self) -> None:
        """Give up: whatever was written is discarded as far as the medium allows."""


class Medium(abc.ABC):
    """A folder of objects on some storage; subclasses implement the primitives.

    Attributes:
        url: The medium's URL for messages, with any password redacted.
        key: A canonical form of the location: two URLs with the same key are the same store.
        commit: ``"rename"`` or ``"create"`` (see the module's docstring).
    """

    url: str
    key: str
    commit: str = "rename"
    #: Create the store's missing parent folders too (the URL option ``?create=parents``).
    create_parents: bool = False

    @abc.abstractmethod
    def exists(self) -> bool:
        """Tell whether the folder (bucket prefix) exists."""

    @abc.abstractmethod
    def make(self, *, parents: bool) -> None:
        """Create the folder; with `parents` False only its last level may be missing."""

    @abc.abstractmethod
    def scan(self) -> dict[str, ObjectInfo]:
        """Return every object in the folder by name (an empty dict if the folder is missing)."""

    @abc.abstractmethod
    def create(self, name: str) -> Writer:
        """Start a new object `name`; raise FileExistsError if it exists (now, or at close())."""

    @abc.abstractmethod
    def read(self, name: str, limit: int = SMALL_LIMIT) -> bytes:
        """Return a small object whole; FileNotFoundError, NotRegular or ObjectTooLarge otherwise."""

    @abc.abstractmethod
    def open(self, name: str) -> IO[bytes]:
        """Open object `name` for streaming reads (FileNotFoundError if missing)."""

    @abc.abstractmethod
    def delete(self, name: str) -> None:
        """Delete object `name`; a missing object is not an error."""

    def stat(self, name: str) -> ObjectInfo:
        """Return what a listing says about `name` (FileNotFoundError if it is missing)."""
        found = self.scan().get(name)
        if found is None:
            raise FileNotFoundError(f"{self.url}/{name}")
        return found

    def put(self, name: str, data: bytes) -> None:
        """Create a small object whole (FileExistsError if `name` exists)."""
        writer = self.create(name)
        try:
            writer.write(data)
        except BaseException:
            writer.abort()
            raise
        writer.close()

    def read_many(self, names: list[str], limit: int = SMALL_LIMIT) -> dict[str, bytes | Exception]:
        """Read several small objects; each failure is returned in place of its bytes."""
        found: dict[str, bytes | Exception] = {}
        for name in names:
            try:
                found[name] = self.read(name, limit)
            except Exception as exc:  # noqa: BLE001 - handed back per object, as the contract says
                found[name] = exc
        return found

    def rename(self, src: str, dst: str) -> None:
        """Rename `src` to `dst`, failing with FileExistsError if `dst` exists (rename media)."""
        raise NotImplementedError(f"{type(self).__name__} commits by conditional create, not rename")

    def replace(self, name: str, data: bytes, version: str) -> str:
        """Replace `name` only if it is still at `version`; return the new version (create media).

        Raises VersionConflict if another writer changed or removed it first.
        """
        raise NotImplementedError(f"{type(self).__name__} has no conditional replace")

    def version(self, name: str) -> str | None:  # noqa: ARG002 - media without versions
        """Return the object's current version for replace(), or None if it is missing."""
        return None

    def touch(self, name: str) -> None:
        """Refresh the object's modification time (a lock's heartbeat on rename media)."""
        raise NotImplementedError(f"{type(self).__name__} cannot touch objects")

    def incomplete_uploads(self) -> dict[str, list[str]]:
        """Return uploads started and never completed, as {object name: [upload ids]}."""
        return {}

    def abort_upload(self, name: str, upload: str) -> None:  # noqa: B027 - optional: only S3 has uploads
        """Discard the incomplete upload `upload` of `name`."""

    def local_path(self, name: str) -> str | None:  # noqa: ARG002 - remote media have none
        """Return a path on this machine for object `name`, or None for remote media."""
        return None

    def explain(self, exc: BaseException) -> BaseException:
        """Translate a backend error into a one-line StoreError that says what to do; others pass."""
        return exc

    def close(self) -> None:  # noqa: B027 - optional: local media hold no connection
        """Release connections (best effort; the medium may not be used afterwards)."""

    def __repr__(self) -> str:
        """Show the medium's redacted URL."""
        return f"{type(self).__name__}({self.url!r})"
