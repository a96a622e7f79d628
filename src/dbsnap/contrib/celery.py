"""The scheduled Celery task of the original system: a daily backup at 03:00 UTC.

from dbsnap.contrib.celery import beat_schedule
app.conf.beat_schedule.update(beat_schedule())
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from dbsnap.config import Config
from dbsnap.exceptions import MissingExtraError, StoreError
from dbsnap.plugins import get_plugins
from dbsnap.redact import scrub

try:
    from celery import shared_task
    from celery.schedules import crontab
except ImportError:  # pragma: no cover - only without the extra
    raise MissingExtraError("dbsnap.contrib.celery needs Celery: pip install 'dbsnap[celery]'") from None

log = logging.getLogger("dbsnap")
TASK = "dbsnap.contrib.celery.backup_database"
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


@shared_task(bind=True, name=TASK, max_retries=3)
def backup_database(self: Any, force: bool = False) -> dict[str, Any]:
    """Create a snapshot, upload it when BACKUP_SFTP_ENABLED, rotate; skip if one was just made.

    Transient store errors are retried with backoff (30 s, 60 s, 120 s); a failure fires the
    dbsnap_snapshot_failed hook so notification plugins hear of it.
    """
    from dbsnap.contrib.jobs import run_backup

    log.info("Database backup: scheduled backup starting (task %s)", self.request.id)
    try:
        plan = _plan(upload=True)
        outcome = run_backup(plan, min_interval=None if force else MIN_INTERVAL)
    except StoreError as exc:
        log.warning("Database backup: store error, will retry: %s", scrub(str(exc)))
        if self.request.retries >= self.max_retries:
            _notify(exc)
            raise
        raise self.retry(exc=exc, countdown=30 * 2**self.request.retries) from None
    except Exception as exc:
        _notify(exc)
        log.error("Database backup: failed: %s", scrub(str(exc)))
        raise
    if outcome.snapshot is None:
        return {"skipped": outcome.skipped}
    log.info("Database backup: scheduled backup finished: %s", outcome.snapshot.name)
    return {"snapshot": outcome.snapshot.name, "stores": outcome.stores, "pruned": outcome.pruned}


def _notify(exc: BaseException) -> None:
    if getattr(exc, "dbsnap_notified", False):
        return
    get_plugins().snapshot_failed("backup_database", exc, None)


class UtcCrontab(crontab):
    """A crontab whose hours are UTC, whatever the Celery app's timezone setting says."""

    @property
    def tz(self) -> Any:
        """Always UTC."""
        return UTC


def beat_schedule(now: Callable[[], datetime] | None = None) -> dict[str, dict[str, Any]]:
    """Return the beat entry that runs backup_database daily at 03:00 UTC, for beat_schedule.update().

    `now` replaces the clock (tests); leave it out in applications, so the entry can be pickled.
    """
    options: dict[str, Any] = {"nowfun": now} if now is not None else {}
    return {
        "dbsnap-daily-backup": {
            "task": TASK,
            "schedule": UtcCrontab(minute=0, hour=3, **options),
            "options": {"expires": 6 * 3600},
        }
    }
