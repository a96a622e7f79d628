"""Taking a snapshot: one dump, encoded and hashed once, committed to every store that can take it."""

from __future__ import annotations

import contextlib
import functools
import logging
import secrets
import time
from datetime import UTC, datetime
from typing import Any

import attrs

from dbsnap import __version__
from dbsnap.context import Context
from dbsnap.drivers.base import source_of
from dbsnap.exceptions import ConfigError, DbsnapError, SnapshotNotFound, StoreError, VerificationError
from dbsnap.fanout import Branch, FanOut
from dbsnap.manifest import Snapshot
from dbsnap.names import default_name, validate_label, validate_name
from dbsnap.redact import redact_url, scrub
from dbsnap.resolve import StoreArg, get_codec, open_driver, open_store
from dbsnap.stores.lock import store_lock
from dbsnap.stores.store import Store
from dbsnap.streams import HashingSink, Progress, copy

log = logging.getLogger("dbsnap")


class PartialSnapshotError(DbsnapError):
    """The snapshot was committed to some stores and failed on others; `result` says which."""

    exit_code = 4

    def __init__(self, message: str, result: SnapshotResult) -> None:
        """Keep the per-store `result` next to the message."""
        super().__init__(message)
        self.result = result


@attrs.frozen
class SnapshotResult:
    """The outcome of one snapshot run across its stores.

    Attributes:
        snapshots: The committed snapshot, once per store that has it.
        failures: The error of each store that does not have it, by redacted store URL.
        duration: Seconds from the start of the dump to the last commit.
    """

    snapshots: list[Snapshot]
    failures: dict[str, BaseException]
    duration: float


def _specs(store: StoreArg, ctx: Context) -> list[str | Store]:
    """The stores of a run, de-duplicated by location; none is connected yet."""
    items: list[str | Store] = (
        list(ctx.config.stores)
        if store is None
        else ([store] if isinstance(store, str | Store) else list(store))
    )
    if not items:
        raise DbsnapError("no store given; pass --store or set DBSNAP_STORE")
    unique: dict[str, str | Store] = {}
    for item in items:
        try:
            key = item.key if isinstance(item, Store) else open_store(item, ctx.plugins).key
        except ConfigError:
            raise  # a malformed URL or an unknown protocol: a usage error, before any work
        except DbsnapError:
            key = redact_url(str(item))  # that store fails alone when the run opens it
        unique.setdefault(key, item)
    return list(unique.values())


class SnapshotRun:
    """One snapshot of one database into several stores, each store failing alone."""

    def __init__(
        self, driver: Any, specs: list[str | Store], codec: Any, ctx: Context, progress: Progress | None
    ):
        """Prepare the run; nothing is connected or written yet."""
        self.driver = driver
        self.specs = specs
        self.codec = codec
        self.ctx = ctx
        self.progress = progress
        self.token = secrets.token_hex(6)
        self.timeout = ctx.config.store_timeout

    def _open(self, spec: str | Store) -> Store:
        return spec if isinstance(spec, Store) else open_store(spec, self.ctx.plugins)

    def run(self, label: str, name: str | None) -> SnapshotResult:
        """Lock every store, dump once into all that are ready, commit each; report each store's fate."""
        started = time.monotonic()
        locking = (self.ctx.config.lock_wait, self.ctx.config.lock_stale)
        branches = [
            Branch(_shown(spec), functools.partial(self._open, spec), label, self.token, locking)
            for spec in self.specs
        ]
        try:
            ready = self._await_ready(branches, locking[0])
            # The time and the default name are taken while holding the locks, so a concurrent run
            # cannot take the name and created_at is when the dump really starts.
            created = datetime.now(UTC)
            extension = self.driver.extension + self.codec.extension
            chosen = name or _free_name([b.taken for b in ready], label, extension, created)
            log.info("Database backup: starting snapshot %s of %s", chosen, redact_url(self.driver.url))
            for branch in ready:
                branch.begin(chosen)
            fan = FanOut(ready, self.timeout)
            hashing = HashingSink(fan, self.progress)
            with self.codec.encoder(hashing) as encoder:
                info = self.driver.dump(encoder, codec=self.codec.name)
            fan.close()
            template = Snapshot(
                name=chosen,
                database=label,
                driver=self.driver.name,
                created_at=created,
                size=hashing.size,
                sha256=hashing.hexdigest(),
                codec=self.codec.name,
                driver_info=info,
                dbsnap_version=__version__,
                source=source_of(self.driver),
            )
            namer = None if name else (lambda n: default_name(label, extension, created, n))
            for branch in ready:
                if branch.live:
                    branch.commit(template, namer)
            for branch in ready:
                branch.wait(self.timeout)
        finally:
            for branch in branches:
                branch.stop()
            for branch in branches:
                # What a failed run wrote is removed before it returns (a stalled store is not waited for).
                if branch.live:
                    branch.done.wait(self.timeout)
        committed = [b.result for b in branches if b.result is not None and b.live]
        failures = {b.url: b.error for b in branches if b.error is not None or b.result is None}
        return SnapshotResult(committed, {k: v or StoreError("not committed") for k, v in failures.items()},
                              time.monotonic() - started)  # fmt: skip

    def _await_ready(self, branches: list[Branch], lock_wait: float) -> list[Branch]:
        """Wait until each store is connected and locked (or failed); return those that are ready.

        A store that stops answering for the store timeout is cut off; one that keeps answering
        while another run holds its lock is waited for (the lock gives up after `lock_wait`).
        """
        deadline = time.monotonic() + lock_wait + self.timeout
        for branch in branches:
            while not branch.ready.wait(0.2):
                if time.monotonic() - branch.progress > self.timeout:
                    branch.cut_off(f"no answer for {self.timeout:g}s while connecting and locking")
                    break
                if time.monotonic() > deadline:
                    branch.cut_off(f"not locked within {lock_wait + self.timeout:g}s")
                    break
        ready = [b for b in branches if b.live]
        if not ready:
            error = next(b.error for b in branches if b.error is not None)
            raise (
                error
                if isinstance(error, DbsnapError)
                else StoreError(f"every store failed: {scrub(str(error))}")
            )
        return ready


def _shown(spec: str | Store) -> str:
    return spec.url if isinstance(spec, Store) else redact_url(spec)


def _free_name(taken: list[set[str]], label: str, extension: str, when: datetime) -> str:
    names = set().union(*taken)
    counter = 0
    while True:
        name = default_name(label, extension, when, counter)
        if name not in names and f"{name}.manifest.json" not in names:
            return name
        counter += 1


def snapshot_to_stores(
    database: str | None = None,
    store: StoreArg = None,
    *,
    name: str | None = None,
    label: str | None = None,
    codec: str | None = None,
    config: Any = None,
    plugins: Any = None,
    driver_options: dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> SnapshotResult:
    """Dump `database` once and commit the same bytes to every store; report each store's outcome.

    Raises PartialSnapshotError (with the result) when some stores committed and others did not,
    and the first store's error when none did. `progress` hears of every stored byte.
    """
    ctx = Context.of(config, plugins)
    begun = time.monotonic()
    driver = open_driver(database or ctx.config.database or "", ctx.plugins, **(driver_options or {}))
    shown = label or driver.label()
    try:
        if name is not None:
            validate_name(name)
        if label is not None:
            validate_label(label)
        specs = _specs(store, ctx)
        chosen = get_codec(codec or driver.default_codec, ctx.plugins)
        driver.preflight()
        # After the preflight: a PostgreSQL service file names the database only once connected.
        shown = label or driver.label()
        result = SnapshotRun(driver, specs, chosen, ctx, progress).run(shown, name)
    except BaseException as exc:
        ctx.plugins.snapshot_failed(shown, exc, None, time.monotonic() - begun)
        raise
    for snap in result.snapshots:
        log.info("Database backup: snapshot %s (%d bytes) committed to %s", snap.name, snap.size, snap.store)
        ctx.plugins.snapshot_finished(snap, snap.store, result.duration)
    for key, failure in result.failures.items():
        log.debug("Database backup: snapshot of %s failed on %s: %s", shown, key, scrub(str(failure)))
        ctx.plugins.snapshot_failed(shown, failure, key, result.duration)
    if not result.snapshots:
        error = next(iter(result.failures.values()))
        raise (
            error
            if isinstance(error, DbsnapError)
            else StoreError(f"snapshot failed on every store: {error}")
        )
    if result.failures:
        raise PartialSnapshotError(
            f"snapshot {result.snapshots[0].name} committed to {len(result.snapshots)} store(s) but "
            f"failed on {', '.join(result.failures)}",
            result,
        )
    return result


def snapshot(
    database: str | None = None, store: StoreArg = None, name: str | None = None, **kwargs: Any
) -> Snapshot:
    """Snapshot `database` into `store` (a URL, a Store, or a list of them); return the manifest."""
    return snapshot_to_stores(database, store, name=name, **kwargs).snapshots[0]


def copy_snapshot(
    name: str,
    source: str | Store,
    destination: str | Store,
    *,
    plugins: Any = None,
    config: Any = None,
    progress: Progress | None = None,
) -> Snapshot:
    """Copy snapshot `name` to another store through the commit protocol, checking every byte.

    A copy already in `destination` with the same sha256 is left as it is (re-running is safe).
    """
    ctx = Context.of(config, plugins)
    src, dst = open_store(source, ctx.plugins), open_store(destination, ctx.plugins)
    snap = src.get(name)
    with contextlib.suppress(SnapshotNotFound):
        there = dst.get(name)
        if there.sha256 == snap.sha256 and there.size == snap.size:
            return there
    token = secrets.token_hex(6)
    wait, stale = ctx.config.lock_wait, ctx.config.lock_stale
    with (
        store_lock(dst.medium, snap.database, token=token, wait=wait, stale_after=stale),
        dst.writing(name, token) as pending,
        src.open_read(name) as handle,
    ):
        hashing = HashingSink(pending.file, progress)
        copy(handle, hashing)
        if (hashing.size, hashing.hexdigest()) != (snap.size, snap.sha256):
            raise VerificationError(f"snapshot {name!r} in {src.url} does not match its manifest; not copied")
        copied = pending.commit(snap)
    log.info("Database backup: copied %s from %s to %s", name, src.url, dst.url)
    ctx.plugins.snapshot_finished(copied, copied.store)
    return copied
