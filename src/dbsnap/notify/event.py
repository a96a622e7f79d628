"""The event a notifier sends: what happened, to which database and store, and any error, redacted."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from typing import Any

from dbsnap.environ import environ
from dbsnap.manifest import Snapshot
from dbsnap.redact import redact_url, scrub


def success_wanted(variable: str) -> bool:
    """Tell whether successes are notified too (`variable` true), not only failures."""
    return environ().get(variable, "").strip().lower() in ("1", "true", "yes", "on")


def finished(snapshot: Snapshot, store: str, duration: float | None) -> dict[str, Any]:
    """The event for a committed snapshot."""
    return {
        "event": "snapshot_finished",
        "database": snapshot.database,
        "store": redact_url(store),
        "snapshot": snapshot.name,
        "size": snapshot.size,
        "duration": round(duration, 3) if duration is not None else None,
        "error": None,
        "host": socket.gethostname(),
        "time": datetime.now(UTC).isoformat(),
    }


def failed(database: str, error: BaseException, store: str | None, duration: float | None) -> dict[str, Any]:
    """The event for a failed snapshot (the error text scrubbed of every known secret)."""
    return {
        "event": "snapshot_failed",
        "database": database,
        "store": redact_url(store) if store else None,
        "snapshot": None,
        "size": None,
        "duration": round(duration, 3) if duration is not None else None,
        "error": scrub(f"{type(error).__name__}: {error}"),
        "host": socket.gethostname(),
        "time": datetime.now(UTC).isoformat(),
    }


def drill_failed(database: str, error: BaseException, store: str | None) -> dict[str, Any]:
    """The event for a failed restore drill."""
    return {
        **failed(database, error, store, None),
        "event": "drill_failed",
    }
