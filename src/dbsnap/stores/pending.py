"""PendingSnapshot: a payload being written under a temporary name, and its commit."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import IO

import attrs

from dbsnap.exceptions import SnapshotExistsError, StoreError
from dbsnap.faults import checkpoint
from dbsnap.manifest import Snapshot
from dbsnap.names import manifest_name, validate_name
from dbsnap.stores.store import Store, temp_name

log = logging.getLogger("dbsnap")


class PendingSnapshot:
    """A payload being written under a temporary name, not yet a snapshot."""

    def __init__(self, store: Store, name: str) -> None:
        """Start writing the payload for `name` in `store`."""
        self.store = store
        self.name = name
        if store.exists(name):
            raise SnapshotExistsError(
                f"snapshot {name!r} already exists in {store.url}; choose another --name"
            )
        self._temp = temp_name(name)
        self._manifest_temp: str | None = None
        self._handle: IO[bytes] | None = store.create(self._temp)
        self.committed = False

    @property
    def file(self) -> IO[bytes]:
        """The open temporary payload."""
        if self._handle is None:
            raise StoreError("the pending snapshot is closed")
        return self._handle

    def commit(self, snapshot: Snapshot, rename: Callable[[int], str] | None = None) -> Snapshot:
        """Finish the payload, rename it to its name, then write the manifest; return it.

        If the name was taken meanwhile and `rename` is given, rename(n) for n = 1, 2, ...
        proposes the next name (default names get a -N); otherwise SnapshotExistsError.
        """
        handle, self._handle = self.file, None
        checkpoint("payload-written")
        self.store.finish(handle)
        checkpoint("payload-closed")
        counter = 0
        while True:
            snapshot = attrs.evolve(snapshot, name=self.name)
            self._write_manifest_temp(snapshot)
            checkpoint("manifest-temp-written")
            try:
                self.store.rename_noreplace(self._temp, self.name)
                checkpoint("payload-renamed")
                break
            except FileExistsError:
                if rename is None:
                    raise SnapshotExistsError(
                        f"snapshot {self.name!r} appeared in {self.store.url} while writing; "
                        "choose another --name"
                    ) from None
                counter += 1
                self.name = validate_name(rename(counter))
        assert self._manifest_temp is not None
        self.store.rename_noreplace(self._manifest_temp, manifest_name(self.name))
        self._manifest_temp = None
        checkpoint("manifest-renamed")
        self.store.sync_dir()
        self.committed = True
        return attrs.evolve(snapshot, store=self.store.url)

    def _write_manifest_temp(self, snapshot: Snapshot) -> None:
        if self._manifest_temp is not None:
            self.store.remove(self._manifest_temp)
        self._manifest_temp = temp_name(manifest_name(snapshot.name))
        handle = self.store.create(self._manifest_temp)
        try:
            handle.write(snapshot.to_json().encode())
        finally:
            self.store.finish(handle)

    def cleanup(self) -> None:
        """Remove whatever temporary objects are left (all of them unless committed)."""
        if self._handle is not None:
            with contextlib.suppress(Exception):
                self._handle.close()
            self._handle = None
        for temp in (self._temp, self._manifest_temp):
            if temp is not None and not (self.committed and temp == self._temp):
                try:
                    self.store.remove(temp)
                except Exception as exc:  # noqa: BLE001 - a later prune sweeps it
                    log.warning("Database backup: could not remove %r (%s); prune sweeps it", temp, exc)
        self._manifest_temp = None
