"""The backup job of the original system: snapshot, upload off-site, rotate; shared by Django and Celery."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import attrs

from dbsnap.api import PartialSnapshotError, copy_snapshot, snapshot_to_stores
from dbsnap.config import Config
from dbsnap.manifest import Snapshot
from dbsnap.plugins import Plugins, get_plugins
from dbsnap.pruning import prune
from dbsnap.resolve import open_driver, open_store
from dbsnap.retention import Policy
from dbsnap.stores.lock import store_lock
from dbsnap.stores.store import Store

log = logging.getLogger("dbsnap")


@attrs.frozen
class BackupPlan:
    """Where one application's backups go and how many are kept.

    Attributes:
        database: The database URL (may hold a password; never printed unredacted).
        local: The local backup folder (the original system's BACKUP_DIR).
        offsite: The off-site store URL (SFTP), or None when none is configured.
        policy: The rotation policy (BACKUP_RETENTION_COUNT is keep_last).
        label: The database label, or None for the driver's default.
    """

    database: str
    local: str
    offsite: str | None
    policy: Policy
    label: str | None = None


@attrs.frozen
class BackupOutcome:
    """What one run of the job did.

    Attributes:
        snapshot: The snapshot made, or None when the run was skipped.
        stores: Where it was committed (redacted URLs).
        pruned: Names removed by rotation, per store.
        skipped: Why the run made no snapshot ("" when it did).
    """

    snapshot: Snapshot | None
    stores: list[str]
    pruned: dict[str, list[str]]
    skipped: str = ""


def plan_from_config(config: Config, *, offsite: bool) -> BackupPlan:
    """Build the job's plan from a Config: its first store is local, the second (if any) off-site."""
    if not config.database:
        raise ValueError("no database configured; set DATABASE_URL or DBSNAP_DATABASE_URL")
    extra = config.stores[1] if offsite and len(config.stores) > 1 else None
    return BackupPlan(config.database, config.stores[0], extra, config.policy)


def newest(store: Store, label: str) -> Snapshot | None:
    """Return the newest snapshot of `label` in `store`, or None."""
    for snap in store.snapshots():
        if snap.database == label:
            return snap
    return None


def run_backup(
    plan: BackupPlan,
    *,
    name: str | None = None,
    min_interval: timedelta | None = None,
    config: Config | None = None,
    plugins: Plugins | None = None,
) -> BackupOutcome:
    """Snapshot into the local folder (and off-site), then rotate each store by the policy.

    With `min_interval`, the run holds a job lock and makes no snapshot when the newest one of this
    database is younger than that: two schedulers firing at once make one backup.
    """
    plugins = plugins or get_plugins()
    config = config or Config.from_env()
    label = plan.label or open_driver(plan.database, plugins).label()
    local = open_store(plan.local, plugins)
    if min_interval is not None:
        with store_lock(local, f"job-{label}", wait=config.lock_wait, stale_after=config.lock_stale):
            last = newest(local, label)
            if last is not None and datetime.now(UTC) - last.created_at < min_interval:
                reason = f"snapshot {last.name} is only {datetime.now(UTC) - last.created_at} old"
                log.info("Database backup: skipped, %s", reason)
                return BackupOutcome(None, [], {}, skipped=reason)
            return _backup(plan, label, name, config, plugins)
    return _backup(plan, label, name, config, plugins)


def _backup(
    plan: BackupPlan, label: str, name: str | None, config: Config, plugins: Plugins
) -> BackupOutcome:
    stores = [plan.local] + ([plan.offsite] if plan.offsite else [])
    log.info("Database backup: creating a snapshot of %s", label)
    try:
        result = snapshot_to_stores(
            plan.database, stores, name=name, label=label, config=config, plugins=plugins
        )
    except PartialSnapshotError as exc:
        if not exc.result.snapshots:
            raise
        made = exc.result.snapshots[0]
        log.error("Database backup: %s; it stays in %s", exc, made.store)
        raise
    made = result.snapshots[0]
    log.info(
        "Database backup: created %s (%d bytes) in %s",
        made.name,
        made.size,
        ", ".join(s.store for s in result.snapshots),
    )
    pruned: dict[str, list[str]] = {}
    for store in stores:
        for outcome in prune(store, plan.policy, database=label, config=config, plugins=plugins):
            pruned[outcome.store] = outcome.removed
            log.info(
                "Database backup: rotation removed %d snapshot(s) from %s",
                len(outcome.removed),
                outcome.store,
            )
    return BackupOutcome(made, [s.store for s in result.snapshots], pruned)


def upload_existing(plan: BackupPlan, name: str, *, plugins: Plugins | None = None) -> Snapshot:
    """Copy a snapshot already in the local folder to the off-site store (to finish a failed upload)."""
    if plan.offsite is None:
        raise ValueError("no off-site store is configured")
    return copy_snapshot(name, plan.local, plan.offsite, plugins=plugins)
