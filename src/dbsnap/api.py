"""The public operations: snapshot, list_snapshots, verify, restore, prune (orchestration only)."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Sequence
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
)
from dbsnap.fetch import check_stored, verified_payload
from dbsnap.manifest import Snapshot
from dbsnap.names import default_name, validate_name
from dbsnap.plugins import Plugins, get_plugins
from dbsnap.redact import redact_url, scrub
from dbsnap.resolve import get_codec, open_driver, open_store
from dbsnap.retention import Plan, Policy, plan
from dbsnap.stores.store import PendingSnapshot, Store
from dbsnap.streams import HashingSink
from dbsnap.tee import Tee

log = logging.getLogger("dbsnap")
StoreArg = str | Store | Sequence[str | Store] | None


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


def _stores(store: StoreArg, config: Config, plugins: Plugins) -> list[Store]:
    if store is None:
        store = list(config.stores)
    items: Sequence[str | Store] = [store] if isinstance(store, str | Store) else store
    if not items:
        raise DbsnapError("no store given; pass --store or set DBSNAP_STORE")
    return [open_store(item, plugins) for item in items]


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
) -> SnapshotResult:
    """Dump `database` once and commit the same bytes to every store; report each store's outcome."""
    config = config or Config.from_env()
    plugins = plugins or get_plugins()
    url = database or config.database
    driver = open_driver(url or "", plugins, **(driver_options or {}))
    label = label or driver.label()
    try:
        if name is not None:
            validate_name(name)
        stores = _stores(store, config, plugins)
        chosen = get_codec(codec or driver.default_codec, plugins)
        driver.preflight()
        return _run_snapshot(driver, stores, chosen, label, name, plugins)
    except BaseException as exc:
        plugins.snapshot_failed(label, exc, None)
        raise


def _run_snapshot(
    driver: Any, stores: list[Store], codec: Any, label: str, name: str | None, plugins: Plugins
) -> SnapshotResult:
    started = time.monotonic()
    created = datetime.now(UTC)
    extension = driver.extension + codec.extension
    chosen = name or _free_name(stores, label, extension, created)
    failures: dict[str, BaseException] = {}
    log.info("Database backup: starting snapshot %s of %s", chosen, redact_url(driver.url))
    with contextlib.ExitStack() as stack:
        pending: dict[str, PendingSnapshot] = {}
        for st in stores:
            try:
                pending[st.url] = stack.enter_context(st.writing(chosen))
            except (DbsnapError, OSError) as exc:
                failures[st.url] = exc
        if not pending:
            raise next(iter(failures.values()))
        tee = Tee({key: p.file for key, p in pending.items()})
        try:
            hashing = HashingSink(tee)
            with codec.encoder(hashing) as encoder:
                info = driver.dump(encoder, codec=codec.name)
        finally:
            failures.update(tee.close())
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
                failures[key] = exc
    for snap in committed:
        log.info("Database backup: snapshot %s (%d bytes) committed to %s", snap.name, snap.size, snap.store)
        plugins.snapshot_finished(snap, snap.store)
    for key, failure in failures.items():
        plugins.snapshot_failed(label, failure, key)
    result = SnapshotResult(committed, failures, time.monotonic() - started)
    if not committed:
        error = next(iter(failures.values()))
        if isinstance(error, DbsnapError):
            raise error
        raise StoreError(f"snapshot {chosen} failed on every store: {scrub(str(error))}") from error
    if failures:
        where = ", ".join(failures)
        raise PartialSnapshotError(
            f"snapshot {chosen} committed to {len(committed)} store(s) but failed on {where}", result
        )
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
    for st in _stores(store, config, plugins or get_plugins()):
        found.extend(s for s in st.snapshots() if database is None or s.database == database)
    return sorted(found, key=lambda s: (s.created_at, s.name), reverse=True)


def primary_store(store: StoreArg, config: Config, plugins: Plugins) -> Store:
    """Return the store reads go to: the one given, or the first configured."""
    return _stores(store, config, plugins)[0]


def _resolve(name_or_snapshot: str | Snapshot, st: Store) -> Snapshot:
    if isinstance(name_or_snapshot, Snapshot):
        return st.get(name_or_snapshot.name)
    return st.get(name_or_snapshot)


@attrs.frozen
class Verification:
    """What verify checked.

    Attributes:
        snapshot: The snapshot, from its manifest.
        checks: Facts from the checks beyond the hash (archive tables, restored row counts...).
    """

    snapshot: Snapshot
    checks: dict[str, Any] = attrs.field(factory=dict)


def _driver_class(name: str, plugins: Plugins) -> Any:
    for registration in plugins.drivers().values():
        if getattr(registration.factory, "name", None) == name:
            return registration.factory
    return None


def verify(
    name_or_snapshot: str | Snapshot,
    store: StoreArg = None,
    *,
    restore_into: str | None = None,
    config: Config | None = None,
    plugins: Plugins | None = None,
) -> Verification:
    """Re-hash a snapshot's stored bytes against its manifest, and let its driver read it.

    With `restore_into` (a database URL), also restore it into a scratch database on that server
    (or a temporary file for SQLite) and check it there. Raises VerificationError if anything is off.
    """
    config = config or Config.from_env()
    plugins = plugins or get_plugins()
    st = primary_store(store, config, plugins)
    snap = _resolve(name_or_snapshot, st)
    check_stored(st, snap)
    checks: dict[str, Any] = {}
    cls = _driver_class(snap.driver, plugins)
    deep = restore_into is not None
    if deep or hasattr(cls, "check_payload"):
        codec = get_codec(snap.codec, plugins)
        with verified_payload(st, snap) as path:
            if hasattr(cls, "check_payload"):
                checks.update(cls.check_payload(path, codec))
            if deep:
                driver = open_driver(restore_into or "", plugins)
                if driver.name != snap.driver:
                    raise DriverMismatchError(
                        f"snapshot {snap.name!r} was made by the {snap.driver} driver; "
                        f"it cannot be test-restored on a {driver.name} database"
                    )
                if not hasattr(driver, "verify_restore"):
                    raise DbsnapError(f"the {driver.name} driver cannot verify by restoring")
                checks["restore"] = driver.verify_restore(path, codec)
    log.info("Database backup: snapshot %s in %s verified", snap.name, st.url)
    return Verification(snap, checks)


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
) -> Snapshot:
    """Check a snapshot's bytes, then replace `database`'s content with it; return the snapshot."""
    config = config or Config.from_env()
    plugins = plugins or get_plugins()
    driver = open_driver(database or config.database or "", plugins, **(driver_options or {}))
    st = primary_store(store, config, plugins)
    snap = _resolve(name_or_snapshot, st)
    if snap.driver != driver.name:
        raise DriverMismatchError(
            f"snapshot {snap.name!r} was made by the {snap.driver} driver and cannot be restored "
            f"into a {driver.name} database ({redact_url(driver.url)})"
        )
    codec = get_codec(snap.codec, plugins)
    log.info("Database backup: restoring %s into %s", snap.name, redact_url(driver.url))
    with verified_payload(st, snap) as path:
        driver.restore(path, codec, **(restore_options or {}))
    log.info("Database backup: restored %s into %s", snap.name, redact_url(driver.url))
    plugins.restore_finished(snap, redact_url(driver.url))
    return snap


@attrs.frozen
class PruneResult:
    """What prune did to one store.

    Attributes:
        store: The store's redacted URL.
        plans: The plan for each database label.
        removed: Names of the snapshots removed (empty on a dry run).
        swept: Leftover temporary objects removed.
        dry_run: Whether nothing was deleted.
    """

    store: str
    plans: dict[str, Plan[Snapshot]]
    removed: list[str]
    swept: list[str]
    dry_run: bool


def prune(
    store: StoreArg = None,
    policy: Policy | None = None,
    dry_run: bool = False,
    *,
    database: str | None = None,
    stale_after: timedelta | None = None,
    now: datetime | None = None,
    config: Config | None = None,
    plugins: Plugins | None = None,
) -> list[PruneResult]:
    """Apply `policy` to each database's snapshots in each store; delete manifests before payloads."""
    config = config or Config.from_env()
    plugins = plugins or get_plugins()
    policy = policy or config.policy
    results = []
    for st in _stores(store, config, plugins):
        groups: dict[str, list[Snapshot]] = {}
        for snap in st.snapshots():
            if database is None or snap.database == database:
                groups.setdefault(snap.database, []).append(snap)
        plans = {label: plan(snaps, policy, now=now) for label, snaps in sorted(groups.items())}
        removed: list[str] = []
        swept: list[str] = []
        if not dry_run:
            for label, group_plan in plans.items():
                for snap in group_plan.remove:
                    st.delete(snap)
                    removed.append(snap.name)
                    log.info("Database backup: pruned %s (%s) from %s", snap.name, label, st.url)
            swept = st.sweep(config.stale_after if stale_after is None else stale_after)
        result = PruneResult(st.url, plans, removed, swept, dry_run)
        plugins.prune_finished(result, st.url, dry_run)
        results.append(result)
    return results
