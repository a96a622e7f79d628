"""The webhook notifier: POST a JSON event to DBSNAP_NOTIFY_URL on failure (and success if asked)."""

from __future__ import annotations

import json
import logging
from urllib.parse import urlsplit

from dbsnap.environ import environ
from dbsnap.hookspecs import hookimpl
from dbsnap.manifest import Snapshot
from dbsnap.notify import event

log = logging.getLogger("dbsnap")
TIMEOUT = 10.0


def post(url: str, payload: dict[str, object]) -> None:
    """POST `payload` as JSON; a failure is logged as a warning and never raised."""
    import urllib.request

    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", "User-Agent": "dbsnap"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            response.read()
    except Exception as exc:  # noqa: BLE001 - a notifier never fails the backup
        # The URL's path is often the webhook's secret token: name only its host.
        log.warning("Database backup: webhook to %s failed: %s", urlsplit(url).netloc.rpartition("@")[2], exc)


@hookimpl
def dbsnap_snapshot_failed(
    database: str, error: BaseException, store: str | None, duration: float | None
) -> None:
    """POST the failure."""
    url = environ().get("DBSNAP_NOTIFY_URL", "").strip()
    if url:
        post(url, event.failed(database, error, store, duration))


@hookimpl
def dbsnap_snapshot_finished(snapshot: Snapshot, store: str, duration: float | None) -> None:
    """POST the success when DBSNAP_NOTIFY_ON_SUCCESS is true."""
    url = environ().get("DBSNAP_NOTIFY_URL", "").strip()
    if url and event.success_wanted("DBSNAP_NOTIFY_ON_SUCCESS"):
        post(url, event.finished(snapshot, store, duration))


@hookimpl
def dbsnap_drill_failed(database: str, error: BaseException, store: str | None) -> None:
    """POST the failed drill."""
    url = environ().get("DBSNAP_NOTIFY_URL", "").strip()
    if url:
        post(url, event.drill_failed(database, error, store))
