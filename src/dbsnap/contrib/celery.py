"""The scheduled Celery tasks: the original system's daily backup at 03:00 UTC, and a weekly restore drill.

from dbsnap.contrib.celery import beat_schedule
app.conf.beat_schedule.update(beat_schedule())
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from dbsnap.config import Config
from dbsnap.exceptions import ConfigError, MissingExtraError, StoreError
from dbsnap.plugins import get_plugins
from dbsnap.redact import scrub

try:
    from celery import shared_task
    from celery.schedules import crontab
except ImportError:  # pragma: no cover - only without the extra
    raise MissingExtraError("dbsnap.contrib.celery needs Celery: pip install 'dbsnap[celery]'") from None

log = logging.getLogger("dbsnap")
TASK = "dbsnap.contrib.celery.backup_database"
DRILL_TASK = "dbsnap.contrib.celery.drill_database"
MIN_INTERVAL = timedelta(minutes=5)


def _plan(upload: bool) -> Any:
    """The job plan from Django's settings when dbsnap's Django app is installed, else the environment."""
    try:
        from django.apps import apps
        from django.conf import settings

        if settings.configured and apps.is_installed("dbsnap.contrib.django"):
            from dbsnap.contrib.django.settings import backup_plan, upload_enabled

            return backup_plan(upload=upload and upload_enabled())
    except ImportError:
        pass
    from dbsnap.contrib.jobs import plan_from_config

    return plan_from_config(Config.from_env(), offsite=upload)


def _roles(plan: Any, failed: list[str]) -> list[str]:
    """Name the plan's stores (local, off-site) among `failed`, so that no store URL goes to the broker."""
    from dbsnap.plugins import get_plugins
    from dbsnap.resolve import open_store

    roles = {"local": plan.local, "offsite": plan.offsite}
    return [role for role, url in roles.items() if url and open_store(url, get_plugins()).url in failed]


@shared_task(bind=True, name=TASK, max_retries=3)
def backup_database(
    self: Any, force: bool = False, finish: str | None = None, missing: list[str] | None = None
) -> dict[str, Any]:
    """Create a snapshot, upload it when BACKUP_SFTP_ENABLED, rotate; skip if one was just made.

    A store that fails alone does not cost the others their copy: the snapshot is committed where it
    could be, and the retries (30 s, 60 s, 120 s) only copy that committed snapshot to the store(s)
    that missed it (`finish`, `missing`), without a new dump. A run that failed on every store is
    retried whole. A final failure fires the dbsnap_snapshot_failed hook so notifiers hear of it.
    """
    from dbsnap.contrib.jobs import finish_upload, run_backup
    from dbsnap.snapshotting import PartialSnapshotError

    log.info("Database backup: scheduled backup starting (task %s)", self.request.id)
    last = self.request.retries >= self.max_retries
    try:
        plan = _plan(upload=True)
        if finish:
            urls = [{"local": plan.local, "offsite": plan.offsite}[role] for role in missing or []]
            copies = finish_upload(plan, finish, [u for u in urls if u])
            log.info("Database backup: %s copied to the store(s) it had missed", finish)
            return {"snapshot": finish, "stores": [c.store for c in copies], "copied": True}
        outcome = run_backup(plan, min_interval=None if force else MIN_INTERVAL)
    except PartialSnapshotError as exc:
        name = exc.result.snapshots[0].name
        if last:
            _notify(exc)
            raise
        log.warning("Database backup: %s; copying it there again later", scrub(str(exc)))
        kwargs = {"force": force, "finish": name, "missing": _roles(plan, list(exc.result.failures))}
        raise self.retry(exc=exc, kwargs=kwargs, countdown=_delay(self.request.retries)) from None
    except StoreError as exc:
        if last:
            log.error(
                "Database backup: store error, giving up after %d retries: %s",
                self.max_retries,
                scrub(str(exc)),
            )
            _notify(exc)
            raise
        log.warning("Database backup: store error, will retry: %s", scrub(str(exc)))
        raise self.retry(exc=exc, countdown=_delay(self.request.retries)) from None
    except Exception as exc:
        _notify(exc)
        log.error("Database backup: failed: %s", scrub(str(exc)))
        raise
    if outcome.snapshot is None:
        return {"skipped": outcome.skipped}
    log.info("Database backup: scheduled backup finished: %s", outcome.snapshot.name)
    return {"snapshot": outcome.snapshot.name, "stores": outcome.stores, "pruned": outcome.pruned}


@shared_task(name=DRILL_TASK)
def drill_database(expect: list[list[str]] | None = None) -> dict[str, Any]:
    """Restore the newest snapshot into a scratch copy and check it (`expect`: [query, condition] pairs).

    The outcome is recorded beside the manifests (where `dbsnap check` reads it); a failure fires
    the dbsnap_drill_failed hook, so the notifiers hear of it, and fails the task.
    """
    from dbsnap.drilling import drill

    plan = _plan(upload=True)
    stores = [url for url in (plan.local, plan.offsite) if url]
    log.info("Database backup: scheduled restore drill starting")
    try:
        record = drill(plan.database, stores, expect=[(q, c) for q, c in expect or []])
    except Exception as exc:
        log.error("Database backup: restore drill failed: %s", scrub(str(exc)))
        raise
    log.info("Database backup: restore drill of %s passed", record["snapshot"])
    return {"snapshot": record["snapshot"], "store": record["store"], "ok": True, "checks": record["checks"]}


def _delay(retries: int) -> float:
    """Seconds before retry number `retries` + 1: 30, 60, 120 (DBSNAP_RETRY_DELAY sets the first)."""
    from dbsnap.environ import environ

    raw = environ().get("DBSNAP_RETRY_DELAY", "").strip() or "30"
    try:
        first = float(raw)
    except ValueError:
        raise ConfigError(f"DBSNAP_RETRY_DELAY={raw!r} is not a number of seconds") from None
    return float(first * 2**retries)


def _notify(exc: BaseException) -> None:
    """Tell the notifiers that the scheduled backup failed for good (the run's own hooks already fired)."""
    get_plugins().snapshot_failed("backup_database", exc, None)


class UtcCrontab(crontab):
    """A crontab whose hours are UTC, whatever the Celery app's timezone setting says."""

    @property
    def tz(self) -> Any:
        """Always UTC."""
        return UTC


def beat_schedule(
    now: Callable[[], datetime] | None = None, *, drill: bool = True
) -> dict[str, dict[str, Any]]:
    """Return the beat entries for beat_schedule.update(): the daily backup and the weekly drill.

    backup_database runs daily at 03:00 UTC; unless `drill` is False, drill_database runs on Sundays
    at 04:30 UTC.

    `now` replaces the clock (tests); leave it out in applications, so the entry can be pickled.
    """
    options: dict[str, Any] = {"nowfun": now} if now is not None else {}
    entries: dict[str, dict[str, Any]] = {
        "dbsnap-daily-backup": {
            "task": TASK,
            "schedule": UtcCrontab(minute=0, hour=3, **options),
            "options": {"expires": 6 * 3600},
        }
    }
    if drill:
        entries["dbsnap-weekly-drill"] = {
            "task": DRILL_TASK,
            "schedule": UtcCrontab(minute=30, hour=4, day_of_week=0, **options),
            "options": {"expires": 24 * 3600},
        }
    return entries
