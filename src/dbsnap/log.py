"""The built-in logging plugin: every event hook logged with the "Database backup" prefix."""

from __future__ import annotations

import logging

from dbsnap.hookspecs import hookimpl
from dbsnap.manifest import Snapshot
from dbsnap.redact import scrub

log = logging.getLogger("dbsnap.events")


@hookimpl
def dbsnap_snapshot_failed(database: str, error: BaseException, store: str | None) -> None:
    """Log a failed snapshot (for the whole run, or one store)."""
    where = f" on {store}" if store else ""
    log.error("Database backup: snapshot of %s failed%s: %s", database, where, scrub(str(error)))


@hookimpl
def dbsnap_snapshot_finished(snapshot: Snapshot, store: str) -> None:
    """Log a committed snapshot at debug level (the API logs the summary)."""
    log.debug("Database backup: event snapshot_finished %s %s", snapshot.name, store)


@hookimpl
def dbsnap_restore_finished(snapshot: Snapshot, database: str) -> None:
    """Log a finished restore at debug level."""
    log.debug("Database backup: event restore_finished %s %s", snapshot.name, database)


@hookimpl
def dbsnap_prune_finished(store: str, dry_run: bool) -> None:
    """Log a finished prune at debug level."""
    log.debug("Database backup: event prune_finished %s dry_run=%s", store, dry_run)
