"""The backup job of the original system: snapshot, upload off-site, rotate; shared by Django and Celery."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import attrs

from dbsnap.config import Config
from dbsnap.context import Context
from dbsnap.exceptions import DbsnapError
from dbsnap.listing import target_identity
from dbsnap.manifest import Snapshot
from dbsnap.plugins import Plugins
from dbsnap.pruning import prune
from dbsnap.redact import scrub
from dbsnap.resolve import open_driver, open_store
from dbsnap.retention import Policy
from dbsnap.snapshotting import Encryption, PartialSnapshotError, copy_snapshot, snapshot_to_stores
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
        encryption: Who the copies are encrypted to, and which (None: not encrypted).
    """

    database: str
    local: str
    offsite: str | None
    policy: Policy
    label: str | None = None
    encryption: Encryption | None = None


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
    return BackupPlan(
        config.database, config.stores[0], extra, config.policy, None, encryption_for(config, extra)
    )


def encryption_for(config: Config, offsite: str | None, recipients: Sequence[str] = ()) -> Encryption | None:
    """The job's encryption: the recipients given (else the configured ones), all copies or off-site only."""
    chosen = tuple(recipients) or config.recipients
    if not chosen:
        return None
    if config.encrypt == "offsite":
        return Encryption(chosen, (offsite,) if offsite else ())
    return Encryption(chosen)


def complete(stores: list[Store], ident: str) -> Snapshot | None:
    """Return the newest snapshot of database `ident` that every one of `stores` holds, or None.

    A store that cannot be read holds nothing here: a backup that did not reach the off-site store
    (or cannot be seen there now) never cancels the next scheduled one.
    """
    held: list[dict[str, Snapshot]] = []
    for st in stores:
        try:
            held.append({s.name: s for s in st.snapshots() if s.identity == ident})
        except (DbsnapError, OSError) as exc:
            log.warning("Database backup: cannot read %s: %s", st.url, exc)
            return None
    everywhere = set.intersection(*(set(h) for h in held)) if held else set()
    found = [held[0][n] for n in everywhere]
    return max(found, key=lambda s: (s.created_at, s.name), default=None)


def run_backup(
    plan: BackupPlan,
    *,
    name: str | None = None,
    min_interval: timedelta | None = None,
    config: Config | None = None,
    plugins: Plugins | None = None,
) -> BackupOutcome:
    """Snapshot into the local folder (and off-site), then rotate each store by the policy.

    With `min_interval`, the run holds a job lock and makes no snapshot when the newest snapshot of
    this database that reached every store is younger than that: two schedulers firing at once
    make one backup, and a local-only manual backup never cancels the scheduled off-site copy.
    """
    ctx = Context.of(config, plugins)
    driver = open_driver(plan.database, ctx.plugins)
    label = plan.label or driver.label()
    local = open_store(plan.local, ctx.plugins)
    if min_interval is not None:
        with store_lock(
            local.medium, f"job-{label}", wait=ctx.config.lock_wait, stale_after=ctx.config.lock_stale
        ):
            stores = [local] + ([open_store(plan.offsite, ctx.plugins)] if plan.offsite else [])
            last = complete(stores, target_identity(driver)) if local.exists() else None
            if last is not None and datetime.now(UTC) - last.created_at < min_interval:
                reason = f"snapshot {last.name} is only {datetime.now(UTC) - last.created_at} old"
                log.info("Database backup: skipped, %s", reason)
                return BackupOutcome(None, [], {}, skipped=reason)
            return _backup(plan, label, name, ctx)
    return _backup(plan, label, name, ctx)


def _backup(plan: BackupPlan, label: str, name: str | None, ctx: Context) -> BackupOutcome:
    stores = [plan.local] + ([plan.offsite] if plan.offsite else [])
    log.info("Database backup: creating a snapshot of %s", label)
    try:
        result = snapshot_to_stores(
            plan.database,
            stores,
            name=name,
            label=label,
            config=ctx.config,
            plugins=ctx.plugins,
            encryption=plan.encryption,
        )
    except PartialSnapshotError as exc:
        made = exc.result.snapshots[0]
        log.error(
            "Database backup: %s; it stays in %s",
            scrub(str(exc)),
            ", ".join(s.store for s in exc.result.snapshots),
        )
        _rotate(plan, [s.store for s in exc.result.snapshots], made, ctx)
        raise
    made = result.snapshots[0]
    log.info(
        "Database backup: created %s (%d bytes) in %s",
        made.name,
        made.size,
        ", ".join(s.store for s in result.snapshots),
    )
    pruned = _rotate(plan, [s.store for s in result.snapshots], made, ctx)
    return BackupOutcome(made, [s.store for s in result.snapshots], pruned)


def _rotate(plan: BackupPlan, stores: list[str], made: Snapshot, ctx: Context) -> dict[str, list[str]]:
    """Rotate the stores that took the snapshot, for this database only."""
    pruned: dict[str, list[str]] = {}
    urls = [plan.local] + ([plan.offsite] if plan.offsite else [])
    for url in urls:
        st = open_store(url, ctx.plugins)
        if st.url not in stores:
            continue
        for outcome in prune(st, plan.policy, database=made.identity, config=ctx.config, plugins=ctx.plugins):
            pruned[outcome.store] = outcome.removed
            log.info(
                "Database backup: rotation removed %d snapshot(s) from %s",
                len(outcome.removed),
                outcome.store,
            )
    return pruned


def finish_upload(
    plan: BackupPlan, name: str, stores: list[str], *, plugins: Plugins | None = None
) -> list[Snapshot]:
    """Copy a committed snapshot from the local folder to `stores` (those it did not reach); no new dump.

    A store the plan encrypts for alone gets the copy encrypted on the way.
    """
    copies = []
    for url in stores:
        encryption = plan.encryption
        encrypt = encryption is not None and encryption.stores is not None and url in encryption.stores
        recipients = encryption.recipients if encryption is not None and encrypt else ()
        copies.append(copy_snapshot(name, plan.local, url, plugins=plugins, encrypt_to=recipients))
    return copies


def upload_existing(plan: BackupPlan, name: str, *, plugins: Plugins | None = None) -> Snapshot:
    """Copy a snapshot already in the local folder to the off-site store (to finish a failed upload)."""
    if plan.offsite is None:
        raise ValueError("no off-site store is configured")
    return copy_snapshot(name, plan.local, plan.offsite, plugins=plugins)
