"""The public operations: snapshot, list_snapshots, verify, restore, prune (orchestration only)."""

from __future__ import annotations

import contextlib
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from dbsnap import __version__
from dbsnap.config import Config
from dbsnap.exceptions import (
    DbsnapError,
    DriverMismatchError,
    SnapshotNotFound,
    StoreError,
    VerificationError,
)
from dbsnap.fetch import verified_payload
from dbsnap.manifest import Snapshot
from dbsnap.names import default_name, validate_name
from dbsnap.plugins import Plugins, get_plugins
from dbsnap.redact import redact_url, scrub
from dbsnap.resolve import (
    StoreArg,
    get_codec,
    open_driver,
    open_store,
    open_stores,
    primary_store,
    resolve_snapshot,
)
from dbsnap.stores.lock import store_lock
from dbsnap.stores.pending import PendingSnapshot
from dbsnap.stores.store import Store
from dbsnap.streams import HashingSink, Progress, copy
from dbsnap.tee import Tee

log = logging.getLogger("dbsnap")


class PartialSnapshotError(DbsnapError):
    """The snapshot was committed to some stores and failed on others; `result` says which."""

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


def _free_name(stores: list[Store], label: str, extension: str, when: datetime) -> str:
    taken = set().union(*(s.entries().keys() for s in stores))
    counter = 0
    while True:
        name = default_name(label, extension, when, counter)
        if name not in taken and f"{name}.manifest.json" not in taken:
            return name
        counter += 1


def snapshot_to_stores(
    database: str | None = None,
    store: StoreArg = None,
    *,
    name: str | None = None,
    label: str | None = None,
    codec: str | None = None,
    config: Config | None = None,
    plugins: Plugins | None = None,
    driver_options: dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> SnapshotResult:
    """Dump `database` once and commit the same bytes to every store; report each store's outcome.

    `progress` (an fsspec Callback such as TqdmCallback) hears of every stored byte.
    """
    config = config or Config.from_env()
    plugins = plugins or get_plugins()
    url = database or config.database
    begun = time.monotonic()
    driver = open_driver(url or "", plugins, **(driver_options or {}))
    given = label
    try:
        if name is not None:
            validate_name(name)
        stores = open_stores(store, config, plugins)
        chosen = get_codec(codec or driver.default_codec, plugins)
        driver.preflight()
        # After the preflight: a PostgreSQL service file names the database only once connected.
        label = given or driver.label()
        return _run_snapshot(
            driver, stores, chosen, label, name, plugins, progress, config.lock_wait, config.lock_stale
        )
    except BaseException as exc:
        if not getattr(exc, "dbsnap_notified", False):
            plugins.snapshot_failed(given or driver.label(), exc, None, time.monotonic() - begun)
        with contextlib.suppress(AttributeError):
            exc.dbsnap_notified = True  # type: ignore[attr-defined]
        raise


def _run_snapshot(
    driver: Any,
    stores: list[Store],
    codec: Any,
    label: str,
    name: str | None,
    plugins: Plugins,
    progress: Progress | None,
    lock_wait: float,
    lock_stale: timedelta,
) -> SnapshotResult:
    started = time.monotonic()
    extension = driver.extension + codec.extension
    failures: dict[str, BaseException] = {}
    with contextlib.ExitStack() as stack:
        locked: list[Store] = []
        for st in stores:
            try:
                stack.enter_context(store_lock(st, label, wait=lock_wait, stale_after=lock_stale))
                locked.append(st)
            except (DbsnapError, OSError) as exc:
                failures[st.url] = st.explain(exc)
        # The time and the default name are taken while holding the locks, so a concurrent run
        # cannot take the name and created_at is when the dump really starts.
        created = datetime.now(UTC)
        chosen = name or _free_name(locked, label, extension, created)
        log.info("Database backup: starting snapshot %s of %s", chosen, redact_url(driver.url))
        pending: dict[str, PendingSnapshot] = {}
        for st in locked:
            try:
                pending[st.url] = stack.enter_context(st.writing(chosen))
            except (DbsnapError, OSError) as exc:
                failures[st.url] = st.explain(exc)
        if not pending:
            raise next(iter(failures.values()))
        tee = Tee({key: p.file for key, p in pending.items()})
        try:
            hashing = HashingSink(tee, progress)
            with codec.encoder(hashing) as encoder:
                info = driver.dump(encoder, codec=codec.name)
        finally:
            by_url = {st.url: st for st in stores}
            failures.update({key: by_url[key].explain(exc) for key, exc in tee.close().items()})
        template = Snapshot(
            name=chosen,
            database=label,
            driver=driver.name,
            created_at=created,
            size=hashing.size,
            sha256=hashing.hexdigest(),
            codec=codec.name,
            driver_info=info,
            dbsnap_version=__version__,
        )
        committed: list[Snapshot] = []
        for key, item in pending.items():
            if key in failures:
                continue
            namer = None if name else (lambda n: default_name(label, extension, created, n))
            try:
                committed.append(item.commit(template, rename=namer))
            except (DbsnapError, OSError) as exc:
                failures[key] = item.store.explain(exc)
    for snap in committed:
        log.info("Database backup: snapshot %s (%d bytes) committed to %s", snap.name, snap.size, snap.store)
        plugins.snapshot_finished(snap, snap.store, time.monotonic() - started)
    for key, failure in failures.items():
        log.debug("Database backup: snapshot %s failed on %s", chosen, key, exc_info=failure)
        plugins.snapshot_failed(label, failure, key, time.monotonic() - started)
    result = SnapshotResult(committed, failures, time.monotonic() - started)
    if not committed:
        error = next(iter(failures.values()))
        with contextlib.suppress(AttributeError):
            error.dbsnap_notified = True  # type: ignore[attr-defined]
        if isinstance(error, DbsnapError):
            raise error
        raise StoreError(f"snapshot {chosen} failed on every store: {scrub(str(error))}") from error
    if failures:
        where = ", ".join(failures)
        partial = PartialSnapshotError(
            f"snapshot {chosen} committed to {len(committed)} store(s) but failed on {where}", result
        )
        partial.dbsnap_notified = True  # type: ignore[attr-defined]
        raise partial
    return result


def snapshot(
    database: str | None = None, store: StoreArg = None, name: str | None = None, **kwargs: Any
) -> Snapshot:
    """Snapshot `database` into `store` (a URL, a Store, or a list of them); return the manifest."""
    return snapshot_to_stores(database, store, name=name, **kwargs).snapshots[0]


def list_snapshots(
    store: StoreArg = None,
    database: str | None = None,
    *,
    config: Config | None = None,
    plugins: Plugins | None = None,
) -> list[Snapshot]:
    """Return the valid snapshots in the store(s), newest first; `database` filters by label."""
    config = config or Config.from_env()
    found: list[Snapshot] = []
    for st in open_stores(store, config, plugins or get_plugins()):
        found.extend(s for s in st.snapshots() if database is None or s.database == database)
    return sorted(found, key=lambda s: (s.created_at, s.name), reverse=True)


def latest(store: StoreArg, label: str, **kwargs: Any) -> Snapshot:
    """Return the newest snapshot of database `label`, or raise SnapshotNotFound listing the labels."""
    snaps = list_snapshots(store, **kwargs)
    for snap in snaps:
        if snap.database == label:
            return snap
    labels = ", ".join(sorted({s.database for s in snaps})) or "none"
    raise SnapshotNotFound(
        f"no snapshot of database {label!r} in the store (databases with snapshots: {labels})"
    )


def restore(
    name_or_snapshot: str | Snapshot,
    database: str | None = None,
    store: StoreArg = None,
    *,
    config: Config | None = None,
    plugins: Plugins | None = None,
    driver_options: dict[str, Any] | None = None,
    restore_options: dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> Snapshot:
    """Check a snapshot's bytes, then replace `database`'s content with it; return the snapshot."""
    config = config or Config.from_env()
    plugins = plugins or get_plugins()
    driver = open_driver(database or config.database or "", plugins, **(driver_options or {}))
    st = primary_store(store, config, plugins)
    snap = resolve_snapshot(name_or_snapshot, st)
    if snap.driver != driver.name:
        raise DriverMismatchError(
            f"snapshot {snap.name!r} was made by the {snap.driver} driver and cannot be restored "
            f"into a {driver.name} database ({redact_url(driver.url)})"
        )
    codec = get_codec(snap.codec, plugins)
    log.info("Database backup: restoring %s into %s", snap.name, redact_url(driver.url))
    with verified_payload(st, snap, progress) as path:
        driver.restore(path, codec, **(restore_options or {}))
    log.info("Database backup: restored %s into %s", snap.name, redact_url(driver.url))
    plugins.restore_finished(snap, redact_url(driver.url))
    return snap


def copy_snapshot(
    name: str,
    source: str | Store,
    destination: str | Store,
    *,
    plugins: Plugins | None = None,
    progress: Progress | None = None,
) -> Snapshot:
    """Copy snapshot `name` to another store through the commit protocol, checking every byte.

    A copy already in `destination` with the same sha256 is left as it is (re-running is safe).
    """
    plugins = plugins or get_plugins()
    src, dst = open_store(source, plugins), open_store(destination, plugins)
    snap = src.get(name)
    with contextlib.suppress(SnapshotNotFound):
        there = dst.get(name)
        if there.sha256 == snap.sha256 and there.size == snap.size:
            return there
    with store_lock(dst, snap.database), dst.writing(name) as pending, src.open_read(name) as handle:
        hashing = HashingSink(pending.file, progress)
        copy(handle, hashing)
        if (hashing.size, hashing.hexdigest()) != (snap.size, snap.sha256):
            raise VerificationError(f"snapshot {name!r} in {src.url} does not match its manifest; not copied")
        copied = pending.commit(snap)
    log.info("Database backup: copied %s from %s to %s", name, src.url, dst.url)
    plugins.snapshot_finished(copied, copied.store)
    return copied
