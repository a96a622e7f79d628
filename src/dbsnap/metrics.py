"""Prometheus text-format metrics from a check report, written atomically.

node_exporter's textfile collector (``--collector.textfile.directory``) exposes them, so the usual
"no backup in 26 h" alert works on them.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from datetime import datetime
from typing import Any

from dbsnap.checking import Report

HELP = {
    "dbsnap_snapshot_last_success_timestamp_seconds": "When the newest snapshot in the store was taken.",
    "dbsnap_snapshot_last_size_bytes": "Stored size of the newest snapshot.",
    "dbsnap_snapshot_last_duration_seconds": "How long the newest snapshot's dump took.",
    "dbsnap_snapshots": "Valid snapshots of the database in the store.",
    "dbsnap_verify_last_success_timestamp_seconds": "When a verification last succeeded.",
    "dbsnap_verify_last_timestamp_seconds": "When the last verification ran.",
    "dbsnap_verify_last_ok": "1 if the last verification succeeded, else 0.",
    "dbsnap_drill_last_success_timestamp_seconds": "When a restore drill last succeeded.",
    "dbsnap_drill_last_timestamp_seconds": "When the last restore drill ran.",
    "dbsnap_drill_last_ok": "1 if the last restore drill succeeded, else 0.",
    "dbsnap_store_up": "1 if the store could be read, else 0.",
    "dbsnap_check_stale": "1 if the database broke a limit of the check, else 0.",
    "dbsnap_check_timestamp_seconds": "When dbsnap check ran.",
}


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(**labels: str) -> str:
    return "{" + ",".join(f'{key}="{_escape(value)}"' for key, value in labels.items()) + "}"


def _seconds(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def render(report: Report) -> str:
    """The report as Prometheus text format (version 0.0.4), every metric with HELP and TYPE."""
    samples: dict[str, list[str]] = {name: [] for name in HELP}

    def add(name: str, value: float, **labels: str) -> None:
        number = str(int(value)) if float(value).is_integer() else repr(float(value))
        samples[name].append(f"{name}{_labels(**labels)} {number}" if labels else f"{name} {number}")

    for store in report.stores:
        add("dbsnap_store_up", 1 if store["readable"] else 0, store=store["store"])
    for db in report.databases:
        if db["identity"] is None:
            continue
        who = {"database": db["database"], "identity": db["identity"]}
        add("dbsnap_check_stale", 1 if db["problems"] else 0, **who)
        for store in db["stores"]:
            if not store["readable"]:
                continue
            at = {**who, "store": store["store"]}
            add("dbsnap_snapshots", store["snapshots"], **at)
            top = store["newest"]
            if top is not None:
                add("dbsnap_snapshot_last_success_timestamp_seconds", _seconds(top["created_at"]), **at)
                add("dbsnap_snapshot_last_size_bytes", top["size"], **at)
                if top["duration"] is not None:
                    add("dbsnap_snapshot_last_duration_seconds", top["duration"], **at)
        for kind in ("verify", "drill"):
            _records(add, kind, db[kind], who)
    add("dbsnap_check_timestamp_seconds", report.checked_at.timestamp())
    lines: list[str] = []
    for name, text in HELP.items():
        if samples[name]:
            lines += [f"# HELP {name} {text}", f"# TYPE {name} gauge", *samples[name]]
    return "\n".join(lines) + "\n"


def _records(add: Any, kind: str, records: dict[str, Any], who: dict[str, str]) -> None:
    last, good = records["last"], records["last_success"]
    if last is not None:
        add(f"dbsnap_{kind}_last_timestamp_seconds", _seconds(last["at"]), **who)
        add(f"dbsnap_{kind}_last_ok", 1 if last["ok"] else 0, **who)
    if good is not None:
        add(f"dbsnap_{kind}_last_success_timestamp_seconds", _seconds(good["at"]), **who)


def write(path: str, text: str) -> None:
    """Replace `path` with `text` atomically (a temporary file in the same folder, then rename), 0644."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, temp = tempfile.mkstemp(prefix=".dbsnap-metrics.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
