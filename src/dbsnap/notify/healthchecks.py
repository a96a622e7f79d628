"""Health-check pings (healthchecks.io, Uptime Kuma...): start, success and fail, for snapshots and drills.

DBSNAP_HEALTHCHECK_URL is a healthchecks.io-style check: the run pings URL/start when the dump
begins, URL when a snapshot is committed, URL/fail when one fails (a partial run ends on a fail).
DBSNAP_HEALTHCHECK_START_URL, _SUCCESS_URL and _FAIL_URL replace those three (an Uptime Kuma push URL
takes ``?status=up`` and ``?status=down``). DBSNAP_HEALTHCHECK_DRILL_URL is the drills' own check.
A ping that fails is logged as a warning, naming only the host: the path is the check's secret.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from dbsnap.environ import environ
from dbsnap.hookspecs import hookimpl
from dbsnap.manifest import Snapshot
from dbsnap.redact import scrub

log = logging.getLogger("dbsnap")
TIMEOUT = 10.0


def _url(kind: str, base_variable: str = "DBSNAP_HEALTHCHECK_URL") -> str:
    """The URL for a start, success or fail ping: the explicit one, else the base with its suffix."""
    env = environ()
    explicit = env.get(f"DBSNAP_HEALTHCHECK_{kind.upper()}_URL", "").strip()
    if explicit and base_variable == "DBSNAP_HEALTHCHECK_URL":
        return explicit
    base = env.get(base_variable, "").strip().rstrip("/")
    if not base:
        return ""
    return base + {"start": "/start", "success": "", "fail": "/fail"}[kind]


def ping(url: str, message: str) -> None:
    """POST `message` to `url` (healthchecks.io keeps it as the ping's body); never raises."""
    if not url:
        return
    import urllib.request

    request = urllib.request.Request(
        url, data=message.encode()[:10_000], headers={"User-Agent": "dbsnap"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            response.read()
    except Exception as exc:  # noqa: BLE001 - a notifier never fails the backup
        log.warning("Database backup: health-check ping to %s failed: %s", urlsplit(url).hostname, exc)


@hookimpl
def dbsnap_snapshot_started(database: str) -> None:
    """Ping start: the check measures the run's duration and notices one that never ends."""
    ping(_url("start"), f"snapshot of {database} started")


@hookimpl
def dbsnap_snapshot_finished(snapshot: Snapshot, store: str) -> None:
    """Ping success."""
    ping(_url("success"), f"snapshot {snapshot.name} ({snapshot.size} bytes) committed to {store}")


@hookimpl
def dbsnap_snapshot_failed(database: str, error: BaseException, store: str | None) -> None:
    """Ping fail (for the whole run, or for one store while others committed)."""
    where = f" on {store}" if store else ""
    ping(_url("fail"), scrub(f"snapshot of {database} failed{where}: {error}"))


@hookimpl
def dbsnap_drill_finished(record: dict[str, object]) -> None:
    """Ping the drill check: success, or fail with the reason."""
    kind = "success" if record.get("ok") else "fail"
    text = f"drill of {record.get('snapshot')}: " + ("ok" if record.get("ok") else str(record.get("error")))
    ping(_url(kind, "DBSNAP_HEALTHCHECK_DRILL_URL"), scrub(text))


@hookimpl
def dbsnap_drill_failed(database: str, error: BaseException, store: str | None) -> None:
    """Ping the drill check's fail when no snapshot could even be drilled."""
    if store is None:
        ping(_url("fail", "DBSNAP_HEALTHCHECK_DRILL_URL"), scrub(f"drill of {database} failed: {error}"))
