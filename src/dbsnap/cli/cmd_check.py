"""`dbsnap check`: how fresh each database's snapshots, verifications and drills are; exit 12 if stale."""

from __future__ import annotations

import argparse
from typing import Any

from dbsnap.checking import Limits, Report, check
from dbsnap.cli import exits
from dbsnap.cli.common import config, error_object, unread_stores
from dbsnap.durations import Duration
from dbsnap.exceptions import ConfigError, StoreError
from dbsnap.metrics import render, write
from dbsnap.output import table


def _limit(value: str | None) -> Duration | None:
    return Duration.parse(value) if value is not None else None


def run(args: argparse.Namespace, document: dict[str, Any]) -> int:
    """Check every database in the stores against the limits given."""
    if args.every_store and args.max_age is None:
        raise ConfigError(
            "--every-store needs --max-age: give the age each store's newest snapshot may reach"
        )
    limits = Limits(
        _limit(args.max_age), _limit(args.max_verify_age), _limit(args.max_drill_age), args.every_store
    )
    report = check(args.store, database=args.database, limits=limits, config=config())
    if args.openmetrics:
        write(args.openmetrics, render(report))
    document.update(
        {
            "checked_at": report.checked_at.isoformat().replace("+00:00", "Z"),
            "stale": report.stale,
            "databases": report.databases,
            "stores": report.stores,
        }
    )
    unread: dict[str, BaseException] = {
        s["store"]: StoreError(s["error"]) for s in report.stores if not s["readable"]
    }
    unread_stores(unread)
    if not args.json:
        print(_text(report))
    if report.stale:
        problems = [f"{d['database']}: {p}" for d in report.databases for p in d["problems"]]
        document["error"] = error_object(None, exits.STALE, "; ".join(problems))
        return exits.STALE
    return exits.PARTIAL if unread else exits.OK


def _hours(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds / 3600:.1f}h ago"


def _text(report: Report) -> str:
    rows = []
    for db in report.databases:
        newest = db["newest"]
        verify = (db["verify"] or {}).get("last")
        drill = (db["drill"] or {}).get("last")
        rows.append(
            [
                db["database"] or "(none)",
                _hours(newest["age_seconds"]) if newest else "never",
                ", ".join(db["missing_from"]) or "-",
                (("ok " if verify["ok"] else "FAILED ") + _hours(verify["age_seconds"]))
                if verify
                else "never",
                (("ok " if drill["ok"] else "FAILED ") + _hours(drill["age_seconds"])) if drill else "never",
                "STALE: " + "; ".join(db["problems"]) if db["problems"] else "ok",
            ]
        )
    return table(rows, ["DATABASE", "NEWEST", "MISSING FROM", "VERIFIED", "DRILLED", "STATUS"])
