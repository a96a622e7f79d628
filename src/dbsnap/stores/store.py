"""The snapshot layer: manifests, listing, reading, committing, deleting and sweeping, over any medium.

It knows no medium: every store (local, SFTP, S3, memory, a plugin's) is this class over the object
layer's primitives (`dbsnap.stores.media`). Whatever a store holds is untrusted: a manifest is read
only if it is a plain file of at most 64 KiB, and one that is malformed, names another payload, or
whose payload is missing or of another size is skipped with a warning, never fatal to the rest.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import IO

import attrs

from dbsnap.exceptions import DbsnapError, ManifestError, SnapshotNotFound, StoreError, StoreMissing
from dbsnap.faults import checkpoint
from dbsnap.manifest import Snapshot
from dbsnap.names import MANIFEST_SUFFIX, is_valid_name, manifest_name, printable, validate_name
from dbsnap.stores.cache import ManifestCache
from dbsnap.stores.lock import DEFAULT_STALE, live_tokens
from dbsnap.stores.media import Medium, ObjectInfo
from dbsnap.stores.pending import PendingSnapshot
from dbsnap.stores.temps import parse_temp, temp_name

log = logging.getLogger("dbsnap")


@attrs.frozen
class Problem:
    """Something in a store that looks like a snapshot and is not a valid one.

    Attributes:
        name: The snapshot name (or object name) concerned.
        reason: What is wrong with it.
    """

    name: str
    reason: str


@attrs.frozen
class Listing:
    """What a store holds: its valid snapshots (newest first) and whatever else looked like one."""

    snapshots: list[Snapshot]
    problems: list[Problem]


class Store:
    """A folder of snapshots on a medium."""

    def __init__(self, medium: Medium, *, require_encryption: bool = False) -> None:
        """Manage the snapshots in `medium`; with `require_encryption`, refuse snapshots in clear."""
        self.medium = medium
        self.require_encryption = require_encryption
        self.url = medium.url
        self.key = medium.key
        self._cached: set[str] = set()

    def __repr__(self) -> str:
        """Show the store's redacted URL."""
        return f"Store({self.url!r})"

    def exists(self) -> bool:
        """Tell whether the store's folder exists."""
        return self.medium.exists()

    def require(self) -> None:
        """Raise StoreMissing unless the folder exists (reads never create a store)."""
        if not self.medium.exists():
            raise StoreMissing(
                f"store {self.url} does not exist; check the path (a snapshot creates it, reads never do)"
            )

    def entries(self) -> dict[str, ObjectInfo]:
        """Return every object of the store by name."""
        return self.medium.scan()

    def manifest_names(self, entries: dict[str, ObjectInfo] | None = None) -> list[str]:
        """Return the name of every snapshot that has a manifest object, valid or not."""
        listed = self.entries() if entries is None else entries
        return sorted(
            n[: -len(MANIFEST_SUFFIX)]
            for n in listed
            if n.endswith(MANIFEST_SUFFIX) and not n.startswith(".")
        )

    def listing(self) -> Listing:
        """Read every manifest (bounded, never following links) and check it against its payload."""
        entries = self.entries()
        names = self.manifest_names(entries)
        readable = [n for n in names if entries[manifest_name(n)].regular]
        raw = self._read_manifests([entries[manifest_name(n)] for n in readable])
        found: list[Snapshot] = []
        problems = [Problem(n, "its manifest is not a plain file") for n in names if n not in readable]
        for name in readable:
            try:
                try:
                    snap = _parse(raw[manifest_name(name)], name)
                except ManifestError:
                    if manifest_name(name) not in self._cached:
                        raise
                    # A damaged cache never hides a snapshot: read the store's own copy.
                    snap = _parse(self.medium.read_many([manifest_name(name)])[manifest_name(name)], name)
            except (ManifestError, StoreError, OSError) as exc:
                problems.append(Problem(name, str(exc)))
                continue
            payload = entries.get(name)
            if payload is None or not payload.regular or payload.size not in (None, snap.size):
                problems.append(Problem(name, "its payload is missing, not a plain file, or of another size"))
                continue
            found.append(attrs.evolve(snap, store=self.url))
        found.sort(key=lambda s: (s.created_at, s.name), reverse=True)
        for problem in problems:
            log.warning(
                "Database backup: ignoring %s in %s: %s (dbsnap verify reports it)",
                printable(problem.name),
                self.url,
                problem.reason,
            )
        return Listing(found, problems)

    def _read_manifests(self, infos: list[ObjectInfo]) -> dict[str, bytes | Exception]:
        """Read manifests; a remote store's come from the local cache if listed unchanged."""
        self._cached = set()
        if self.medium.local_path("") is not None:
            return self.medium.read_many([i.name for i in infos])
        cache = ManifestCache(self.key)
        found: dict[str, bytes | Exception] = {}
        for info in infos:
            cached = cache.get(info)
            if cached is not None:
                found[info.name] = cached
                self._cached.add(info.name)
        fetched = self.medium.read_many([i.name for i in infos if i.name not in found])
        by_name = {i.name: i for i in infos}
        for name, data in fetched.items():
            if isinstance(data, bytes):
                cache.put(by_name[name], data)
        cache.retain(infos)
        return {**found, **fetched}

    def snapshots(self) -> list[Snapshot]:
        """Return every valid snapshot in the store, newest first; the others are logged."""
        return self.listing().snapshots

    def get(self, name: str) -> Snapshot:
        """Return snapshot `name` from its manifest, or raise SnapshotNotFound / ManifestError."""
        validate_name(name)
        data = self.medium.read_many([manifest_name(name)])[manifest_name(name)]
        if isinstance(data, FileNotFoundError):
            raise SnapshotNotFound(
                f"no snapshot {name!r} in {self.url}; 'dbsnap list --store {self.url}' shows them"
            )
        return attrs.evolve(_parse(data, name), store=self.url)

    def has(self, name: str) -> bool:
        """Tell whether a payload or manifest of snapshot `name` is present."""
        entries = self.entries()
        return name in entries or manifest_name(name) in entries

    def open_read(self, name: str) -> IO[bytes]:
        """Open a payload for reading."""
        return self.medium.open(name)

    def local_path(self, name: str) -> str | None:
        """Return a local path to a payload, or None if the store is remote."""
        return self.medium.local_path(name)

    def explain(self, exc: BaseException) -> BaseException:
        """Translate a backend error into a one-line StoreError that says what to do."""
        return self.medium.explain(exc)

    @contextlib.contextmanager
    def writing(self, name: str, token: str) -> Iterator[PendingSnapshot]:
        """Open a pending snapshot for run `token`; commit it with `.commit()`, or it is removed on exit."""
        validate_name(name)
        pending = PendingSnapshot(self.medium, name, token)
        try:
            yield pending
        finally:
            pending.cleanup()

    def add_manifest(self, snapshot: Snapshot, token: str) -> None:
        """Give a payload already in the store its manifest, committed like a snapshot's (never replacing)."""
        data = snapshot.to_json().encode()
        final = manifest_name(snapshot.name)
        if self.medium.commit == "rename":
            temp = temp_name(final, token)
            self.medium.put(temp, data)
            try:
                self.medium.rename(temp, final)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    self.medium.delete(temp)
        else:
            self.medium.put(final, data)

    def delete(self, snapshot: Snapshot, token: str) -> None:
        """Delete a snapshot: its manifest stops existing first, then the payload goes.

        A marker (a temporary manifest name of run `token`) is left first, so that a crash before the
        payload is gone leaves the proof that lets a later sweep remove the payload too.
        """
        marker = temp_name(manifest_name(snapshot.name), token)
        if self.medium.commit == "rename":
            try:
                self.medium.rename(manifest_name(snapshot.name), marker)
            except FileNotFoundError:
                marker = ""
        else:
            self.medium.put(marker, b"{}")
            self.medium.delete(manifest_name(snapshot.name))
        checkpoint("manifest-deleted")
        self.medium.delete(snapshot.name)
        if marker:
            self.medium.delete(marker)

    def sweep(
        self, min_age: timedelta, stale_after: float = DEFAULT_STALE, now: float | None = None
    ) -> list[str]:
        """Remove what runs that are gone left behind, if older than `min_age`; return the names.

        Temporary objects carry their run's token: those of a run whose lock is alive are never
        touched, however old (a dump may wait hours for a table lock). The listing is taken before
        the live tokens are read, so a run that finishes meanwhile is seen alive or complete.
        """
        entries = self.entries()
        live = live_tokens(self.medium, stale_after)
        limit = (time.time() if now is None else now) - min_age.total_seconds()
        swept: list[str] = []
        for name, info in sorted(entries.items()):
            parsed = parse_temp(name)
            if parsed is None:
                continue
            final, token = parsed
            if token in live or (info.mtime is not None and info.mtime > limit):
                continue
            if final.endswith(MANIFEST_SUFFIX):
                payload = final[: -len(MANIFEST_SUFFIX)]
                # The marker proves dbsnap wrote the payload; a payload that did become a snapshot
                # (its manifest exists now) is left alone.
                if payload in entries and is_valid_name(payload) and not self.medium.scan().get(final):
                    self.medium.delete(payload)
                    swept.append(payload)
                for upload in self.medium.incomplete_uploads().get(payload, []):
                    self.medium.abort_upload(payload, upload)
                    swept.append(f"{payload} (incomplete upload)")
            self.medium.delete(name)
            swept.append(name)
        for name in swept:
            log.info("Database backup: swept leftover %r from %s", name, self.url)
        return swept


def _parse(data: bytes | Exception, name: str) -> Snapshot:
    if isinstance(data, DbsnapError):
        raise data
    if isinstance(data, Exception):
        raise StoreError(f"cannot read the manifest of {name!r}: {data}")
    return Snapshot.from_json(data, expected_name=name)
