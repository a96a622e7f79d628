"""PendingSnapshot: a payload being written, and its commit by the medium's own protocol.

Rename media: the payload goes to a temporary name, a temporary manifest is written, the payload is
renamed to its name without replacing anything, and the manifest is renamed last. Create media: a
marker (the temporary manifest name) is written first, the payload is created under its final name
by a conditional write that fails if the name exists, and the manifest is created last, also
conditionally; the marker goes after. On both, a snapshot without its manifest does not exist, and
whatever a crash leaves carries the run's token for the sweep.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable

import attrs

from dbsnap.exceptions import SnapshotExistsError, StoreError
from dbsnap.faults import checkpoint
from dbsnap.manifest import Snapshot
from dbsnap.names import manifest_name, validate_name
from dbsnap.stores.media import Medium, Writer
from dbsnap.stores.temps import temp_name

log = logging.getLogger("dbsnap")


class PendingSnapshot:
    """A payload being written, not yet a snapshot."""

    def __init__(self, medium: Medium, name: str, token: str) -> None:
        """Start writing the payload for `name` in `medium` on behalf of run `token`."""
        self.medium = medium
        self.name = name
        self.token = token
        self.committed = False
        medium.make(parents=medium.create_parents)
        listed = medium.scan()
        if name in listed or manifest_name(name) in listed:
            raise SnapshotExistsError(
                f"snapshot {name!r} already exists in {medium.url}; choose another --name"
            )
        self._marker: str | None = None
        if medium.commit == "create":
            self._marker = temp_name(manifest_name(name), token)
            medium.put(self._marker, b"{}")
            self._temp = name
        else:
            self._temp = temp_name(name, token)
        self._writer: Writer | None = medium.create(self._temp)
        self._closed = False
        self._renamed = False

    @property
    def file(self) -> Writer:
        """The payload being written."""
        if self._writer is None:
            raise StoreError("the pending snapshot is closed")
        return self._writer

    def finish(self) -> None:
        """Make the payload complete and durable (on a create medium: visible under its name)."""
        checkpoint("payload-written")
        try:
            self.file.close()
        except FileExistsError:
            self._writer = None
            raise SnapshotExistsError(
                f"snapshot {self.name!r} appeared in {self.medium.url} while writing; choose another --name"
            ) from None
        self._closed = True
        checkpoint("payload-closed")

    def commit(self, snapshot: Snapshot, rename: Callable[[int], str] | None = None) -> Snapshot:
        """Finish the payload if needed, then make the snapshot exist; return it.

        On rename media, if the name was taken meanwhile and `rename` is given, rename(n) for n = 1,
        2, ... proposes the next name (default names get a -N); otherwise SnapshotExistsError.
        """
        if not self._closed:
            self.finish()
        self._writer = None
        if self.medium.commit == "create":
            final = attrs.evolve(snapshot, name=self.name)
            try:
                self.medium.put(manifest_name(self.name), final.to_json().encode())
            except FileExistsError:
                raise SnapshotExistsError(
                    f"a manifest for {self.name!r} appeared in {self.medium.url} while writing"
                ) from None
            checkpoint("manifest-renamed")
            self.committed = True
            return attrs.evolve(final, store=self.medium.url)
        counter = 0
        while True:
            final = attrs.evolve(snapshot, name=self.name)
            self._write_marker(final)
            checkpoint("manifest-temp-written")
            try:
                self.medium.rename(self._temp, self.name)
                self._renamed = True
                checkpoint("payload-renamed")
                break
            except FileExistsError:
                if rename is None:
                    raise SnapshotExistsError(
                        f"snapshot {self.name!r} appeared in {self.medium.url} while writing; "
                        "choose another --name"
                    ) from None
                counter += 1
                self.name = validate_name(rename(counter))
        assert self._marker is not None
        self.medium.rename(self._marker, manifest_name(self.name))
        self._marker = None
        checkpoint("manifest-renamed")
        self.committed = True
        return attrs.evolve(final, store=self.medium.url)

    def _write_marker(self, snapshot: Snapshot) -> None:
        """Write the manifest under its temporary name (rename media)."""
        if self._marker is not None:
            self.medium.delete(self._marker)
        self._marker = temp_name(manifest_name(snapshot.name), self.token)
        self.medium.put(self._marker, snapshot.to_json().encode())

    def cleanup(self) -> None:
        """Remove whatever is left unless committed: the payload (or its upload) and the marker."""
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.abort()
            self._writer = None
        leftovers = [] if self.committed else [self.name if self._renamed else self._temp]
        if self._marker is not None:
            leftovers.append(self._marker)
        for name in leftovers:
            if self.medium.commit == "create" and name == self._temp and not self._closed:
                continue  # never completed, so never created: nothing under the final name is ours
            try:
                self.medium.delete(name)
            except Exception as exc:  # noqa: BLE001 - a later sweep removes it
                log.warning("Database backup: could not remove %r (%s); a later prune sweeps it", name, exc)
        self._marker = None
