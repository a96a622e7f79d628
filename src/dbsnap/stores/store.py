"""Store: the commit protocol (temporary name, rename, manifest last) over any fsspec filesystem."""

from __future__ import annotations

import contextlib
import errno
import logging
import secrets
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import IO, TYPE_CHECKING, Any

import attrs
import fsspec
from fsspec.spec import AbstractFileSystem

from dbsnap.exceptions import (
    ManifestError,
    SnapshotNotFound,
    StoreError,
)
from dbsnap.faults import checkpoint
from dbsnap.hookspecs import Register, hookimpl
from dbsnap.manifest import Snapshot
from dbsnap.names import MANIFEST_SUFFIX, manifest_name, validate_name
from dbsnap.redact import redact_url

log = logging.getLogger("dbsnap")
TMP_SUFFIX = ".dbsnap-tmp"

if TYPE_CHECKING:
    from dbsnap.stores.pending import PendingSnapshot


def temp_name(final: str) -> str:
    """Return a hidden, unique temporary name for the object that will become `final`."""
    return f".{final}.{secrets.token_hex(6)}{TMP_SUFFIX}"


def final_of_temp(temp: str) -> str | None:
    """Return the final name a temporary name was made for, or None if `temp` is not one."""
    if not (temp.startswith(".") and temp.endswith(TMP_SUFFIX)):
        return None
    stem = temp[1 : -len(TMP_SUFFIX)]
    final, _, token = stem.rpartition(".")
    return final if final and len(token) == 12 else None


def _mtime(info: dict[str, Any]) -> float | None:
    for key in ("mtime", "created", "LastModified", "last_modified"):
        value = info.get(key)
        if isinstance(value, datetime):
            return value.timestamp()
        if isinstance(value, int | float):
            return float(value)
    return None


class Store:
    """A folder of snapshots on an fsspec filesystem; subclasses add protocol-specific care."""

    def __init__(self, fs: AbstractFileSystem, root: str, url: str) -> None:
        """Use folder `root` of `fs`; `url` is what messages show (it is redacted here)."""
        self.fs = fs
        self.root = root.rstrip("/") or "/"
        self.url = redact_url(url)

    @classmethod
    def from_url(cls, url: str, **options: Any) -> Store:
        """Open the store at an fsspec URL."""
        fs, root = fsspec.core.url_to_fs(url, **options)
        return cls(fs, root, url)

    def __repr__(self) -> str:
        """Show the store's redacted URL."""
        return f"{type(self).__name__}({self.url!r})"

    # -- paths and primitives that subclasses may override ------------------------------------

    def path(self, name: str) -> str:
        """Return the full path of object `name` in the store's folder."""
        return f"{self.root}/{name}" if self.root != "/" else f"/{name}"

    def local_path(self, name: str) -> str | None:  # noqa: ARG002 - remote stores have none
        """Return a local filesystem path to object `name`, or None if the store is remote."""
        return None

    def ensure_root(self) -> None:
        """Create the store's folder if it is missing."""
        self.fs.makedirs(self.root, exist_ok=True)

    def create(self, name: str) -> IO[bytes]:
        """Create object `name` for writing; it must not exist yet."""
        if self.fs.exists(self.path(name)):
            raise FileExistsError(self.path(name))
        return self.fs.open(self.path(name), "wb")  # type: ignore[no-any-return]

    def finish(self, handle: IO[bytes]) -> None:
        """Flush and close a handle from create(), durably where the backend allows."""
        handle.close()

    def rename_noreplace(self, src: str, dst: str) -> None:
        """Rename object `src` to `dst`, failing with FileExistsError if `dst` exists."""
        if self.fs.exists(self.path(dst)):
            raise FileExistsError(self.path(dst))
        self.fs.mv(self.path(src), self.path(dst))

    def sync_dir(self) -> None:
        """Make renames in the folder durable where the backend allows."""

    def remove(self, name: str) -> None:
        """Delete object `name`; a missing object is not an error."""
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(self.path(name))

    def entries(self) -> dict[str, dict[str, Any]]:
        """Return every object in the folder by name, with fsspec's details."""
        try:
            listing = self.fs.ls(self.root, detail=True)
        except FileNotFoundError:
            return {}
        return {entry["name"].rstrip("/").rsplit("/", 1)[-1]: entry for entry in listing}

    def read_many(self, names: list[str]) -> dict[str, bytes | Exception]:
        """Read several small objects (concurrently on async filesystems)."""
        if not names:
            return {}
        paths = [self.path(n) for n in names]
        data = self.fs.cat(paths, on_error="return")
        return {name: data.get(p, FileNotFoundError(p)) for name, p in zip(names, paths, strict=True)}

    def open_read(self, name: str) -> IO[bytes]:
        """Open object `name` for reading."""
        return self.fs.open(self.path(name), "rb")  # type: ignore[no-any-return]

    def explain(self, exc: BaseException) -> BaseException:
        """Translate a backend error into a one-line StoreError that says what to do; others pass."""
        if isinstance(exc, OSError) and not isinstance(exc, StoreError):
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                return StoreError(
                    f"the disk of {self.url} is full ({exc.strerror}); free space there or use another store"
                )
            if exc.errno in (errno.EACCES, errno.EPERM):
                return StoreError(
                    f"cannot write to {self.url}: permission denied; check the folder's owner and mode"
                )
            if exc.errno == errno.EROFS:
                return StoreError(f"{self.url} is on a read-only filesystem")
        return exc

    # -- the snapshot-level operations ------------------------------------------------------

    def exists(self, name: str) -> bool:
        """Tell whether a payload or manifest of snapshot `name` is present."""
        entries = self.entries()
        return name in entries or manifest_name(name) in entries

    def manifest_names(self, entries: dict[str, dict[str, Any]] | None = None) -> list[str]:
        """Return the name of every snapshot that has a manifest object, valid or not."""
        listed = self.entries() if entries is None else entries
        return sorted(
            n[: -len(MANIFEST_SUFFIX)]
            for n in listed
            if n.endswith(MANIFEST_SUFFIX) and not n.startswith(".")
        )

    def snapshots(self) -> list[Snapshot]:
        """Return every valid snapshot in the store, newest first; broken ones are logged."""
        entries = self.entries()
        names = self.manifest_names(entries)
        raw = self.read_many([manifest_name(n) for n in names])
        found: list[Snapshot] = []
        for name in names:
            data = raw[manifest_name(name)]
            try:
                if isinstance(data, Exception):
                    raise ManifestError(f"cannot read it ({data})")
                snap = Snapshot.from_json(data, expected_name=name)
            except (ManifestError, ValueError) as exc:
                log.warning("Database backup: ignoring manifest %r in %s: %s", name, self.url, exc)
                continue
            payload = entries.get(name)
            if payload is None or payload.get("size") not in (None, snap.size):
                log.warning(
                    "Database backup: snapshot %r in %s has a missing or wrong-sized payload; "
                    "run 'dbsnap verify %s'",
                    name,
                    self.url,
                    name,
                )
                continue
            found.append(attrs.evolve(snap, store=self.url))
        found.sort(key=lambda s: (s.created_at, s.name), reverse=True)
        return found

    def get(self, name: str) -> Snapshot:
        """Return snapshot `name` from its manifest, or raise SnapshotNotFound."""
        validate_name(name)
        data = self.read_many([manifest_name(name)])[manifest_name(name)]
        if isinstance(data, FileNotFoundError):
            raise SnapshotNotFound(
                f"no snapshot {name!r} in {self.url}; 'dbsnap list --store {self.url}' shows them"
            )
        if isinstance(data, Exception):
            raise StoreError(f"cannot read the manifest of {name!r} in {self.url}: {data}")
        return attrs.evolve(Snapshot.from_json(data, expected_name=name), store=self.url)

    @contextlib.contextmanager
    def writing(self, name: str) -> Iterator[PendingSnapshot]:
        """Open a pending snapshot; commit it with `.commit()`, or it is removed on exit."""
        from dbsnap.stores.pending import PendingSnapshot

        validate_name(name)
        self.ensure_root()
        pending = PendingSnapshot(self, name)
        try:
            yield pending
        finally:
            pending.cleanup()

    def delete(self, snapshot: Snapshot) -> None:
        """Delete a snapshot: its manifest stops existing first, then the payload goes.

        The manifest is renamed to a temporary name rather than deleted, so that a crash before
        the payload is gone leaves a record that lets a later sweep remove the payload too.
        """
        tombstone = temp_name(manifest_name(snapshot.name))
        try:
            self.rename_noreplace(manifest_name(snapshot.name), tombstone)
        except FileNotFoundError:
            tombstone = ""
        self.sync_dir()
        checkpoint("manifest-deleted")
        self.remove(snapshot.name)
        if tombstone:
            self.remove(tombstone)

    def sweep(self, older_than: timedelta, now: float | None = None) -> list[str]:
        """Remove the commit protocol's leftovers older than `older_than`; return their names."""
        now = time.time() if now is None else now
        limit = now - older_than.total_seconds()
        entries = self.entries()

        def stale(name: str) -> bool:
            stamp = _mtime(entries.get(name, {}))
            return stamp is not None and stamp <= limit

        swept: list[str] = []
        for name in sorted(entries):
            final = final_of_temp(name)
            if final is None or not stale(name):
                continue
            if final.endswith(MANIFEST_SUFFIX):
                payload = final[: -len(MANIFEST_SUFFIX)]
                # A crash between renaming the payload and renaming its manifest left a payload
                # that never became a snapshot; the temporary manifest proves dbsnap wrote it.
                if payload in entries and final not in entries and stale(payload):
                    self.remove(payload)
                    swept.append(payload)
            self.remove(name)
            swept.append(name)
        for name in swept:
            log.info("Database backup: swept leftover %r from %s", name, self.url)
        return swept


@hookimpl
def dbsnap_register_stores(register: Register) -> None:
    """Register the generic store for in-memory filesystems (tests, experiments)."""
    register("memory", Store.from_url)
