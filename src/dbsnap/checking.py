"""check(): how fresh each database's snapshots, verifications and restore drills are, store by store.

Nothing connects to a database: the manifests and the check records in the stores say it all. Limits
(`max_age` and friends) turn facts into problems; a report with problems is stale.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from dbsnap.context import Context
from dbsnap.durations import Duration
from dbsnap.exceptions import DbsnapError, StoreError
from dbsnap.listing import gather, matches
from dbsnap.manifest import Snapshot
from dbsnap.resolve import StoreArg, open_stores
from dbsnap.stores import records as rec
from dbsnap.stores.store import Store


@attrs.frozen
class Limits:
    """How old things may be before a check calls them stale (None: not checked).

    Attributes:
        max_age: The newest snapshot of each database.
        max_verify_age: The last good verification.
        max_drill_age: The last good restore drill.
        every_store: Each store must hold a snapshot within `max_age`, not just one of them.
    """

    max_age: Duration | None = None
    max_verify_age: Duration | None = None
    max_drill_age: Duration | None = None
    every_store: bool = False


@attrs.frozen
class Report:
    """What check found.

    Attributes:
        checked_at: When the check ran.
        databases: One entry per database (JSON-ready; see docs/schemas/check.json).
        stores: Each store and whether it could be read.
        limits: The limits applied.
    """

    checked_at: datetime
    databases: list[dict[str, Any]]
    stores: list[dict[str, Any]]
    limits: Limits

    @property
    def stale(self) -> bool:
        """Whether any database broke a limit."""
        return any(d["problems"] for d in self.databases)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _read(st: Store) -> tuple[list[Snapshot], list[dict[str, Any]]]:
    st.require()
    entries = st.entries()
    return st.listing().snapshots, rec.read_records(st, list(entries))


def check(
    store: StoreArg = None,
    *,
    database: str | None = None,
    limits: Limits | None = None,
    now: datetime | None = None,
    config: Any = None,
    plugins: Any = None,
) -> Report:
    """Report, per database, its newest snapshot in each store and its last verification and drill.

    Raises the store's error when no store can be read (a missing store: StoreMissing).
    """
    ctx = Context.of(config, plugins)
    limits = limits or Limits()
    now = now or datetime.now(UTC)
    stores = open_stores(store, ctx.config, ctx.plugins)
    found, failures = gather(stores, ctx.config.store_timeout, _read)
    if failures and len(failures) == len(stores):
        error = next(iter(failures.values()))
        raise error if isinstance(error, DbsnapError) else StoreError(str(error))
    shown = [
        {
            "store": s.url,
            "readable": s.url in found,
            "error": str(failures[s.url]) if s.url in failures else None,
        }
        for s in stores
    ]
    identities: dict[str, str] = {}
    for snaps, _ in found.values():
        for snap in snaps:
            if database is None or matches(snap, database):
                identities.setdefault(snap.identity, snap.database)
    databases = [
        _database(identity, label, found, [s.url for s in stores], failures, limits, now)
        for identity, label in sorted(identities.items(), key=lambda item: (item[1], item[0]))
    ]
    if not databases:
        problems = ["no snapshot at all"] if limits.max_age is not None else []
        empty: dict[str, Any] = {"database": database or "", "identity": None, "newest": None, "stores": []}
        databases.append({**empty, "missing_from": [], "verify": None, "drill": None, "problems": problems})
    return Report(now, databases, shown, limits)


def _database(
    identity: str,
    label: str,
    found: dict[str, tuple[list[Snapshot], list[dict[str, Any]]]],
    urls: list[str],
    failures: dict[str, BaseException],
    limits: Limits,
    now: datetime,
) -> dict[str, Any]:
    per_store: list[dict[str, Any]] = []
    newest: Snapshot | None = None
    records: list[dict[str, Any]] = []
    for url in urls:
        if url not in found:
            per_store.append({"store": url, "readable": False, "snapshots": 0, "newest": None})
            continue
        snaps, kept = found[url]
        mine = [s for s in snaps if s.identity == identity and s.created_at <= now + timedelta(minutes=5)]
        records += [dict(r, store=url) for r in kept if r.get("identity") == identity]
        top = mine[0] if mine else None
        if top is not None and (newest is None or top.created_at > newest.created_at):
            newest = top
        per_store.append({"store": url, "readable": True, "snapshots": len(mine), "newest": _snap(top, now)})
    records.sort(key=lambda r: str(r.get("at", "")))
    entry: dict[str, Any] = {
        "database": label,
        "identity": identity,
        "newest": _snap(newest, now),
        "stores": per_store,
        "missing_from": [s["store"] for s in per_store if newest is not None and _lacks(s, newest)],
        "verify": _records(records, "verify", now),
        "drill": _records(records, "drill", now),
    }
    entry["problems"] = _problems(entry, limits, now, failures)
    return entry


def _lacks(store: dict[str, Any], newest: Snapshot) -> bool:
    """Whether a store's newest snapshot is older than the database's newest anywhere."""
    return store["newest"] is None or str(store["newest"]["created_at"]) < _stamp(newest.created_at)


def _snap(snap: Snapshot | None, now: datetime) -> dict[str, Any] | None:
    if snap is None:
        return None
    return {
        "name": snap.name,
        "created_at": _stamp(snap.created_at),
        "age_seconds": round((now - snap.created_at).total_seconds(), 3),
        "size": snap.size,
        "duration": snap.duration,
    }


def _records(records: list[dict[str, Any]], kind: str, now: datetime) -> dict[str, Any]:
    def shown(record: dict[str, Any] | None) -> dict[str, Any] | None:
        if record is None:
            return None
        at = _parse(str(record["at"]))
        return {
            "at": _stamp(at),
            "age_seconds": round((now - at).total_seconds(), 3),
            "ok": bool(record.get("ok")),
            "snapshot": record.get("snapshot"),
            "store": record.get("store"),
            "duration": record.get("duration"),
            "error": record.get("error"),
        }

    mine = [r for r in records if r.get("kind") == kind]
    good = [r for r in mine if r.get("ok") is True]
    return {"last": shown(mine[-1] if mine else None), "last_success": shown(good[-1] if good else None)}


def _older(seconds: float, limit: Duration, now: datetime) -> bool:
    boundary = limit.before(now)
    return boundary is not None and now - timedelta(seconds=seconds) < boundary


def _problems(
    entry: dict[str, Any], limits: Limits, now: datetime, failures: dict[str, BaseException]
) -> list[str]:
    problems: list[str] = []
    if limits.max_age is not None:
        newest = entry["newest"]
        if newest is None or _older(newest["age_seconds"], limits.max_age, now):
            age = "none" if newest is None else f"{newest['age_seconds'] / 3600:.1f}h old"
            problems.append(f"newest snapshot: {age} (limit {limits.max_age})")
        if limits.every_store:
            for store in entry["stores"]:
                top = store["newest"]
                if not store["readable"]:
                    problems.append(f"{store['store']}: could not be read ({failures.get(store['store'])})")
                elif top is None or _older(top["age_seconds"], limits.max_age, now):
                    problems.append(f"{store['store']}: no snapshot within {limits.max_age}")
    for kind, limit in (("verify", limits.max_verify_age), ("drill", limits.max_drill_age)):
        if limit is None:
            continue
        last, good = entry[kind]["last"], entry[kind]["last_success"]
        if good is None or _older(good["age_seconds"], limit, now):
            problems.append(f"no good {kind} within {limit}" + (f" (last: {good['at']})" if good else ""))
        if last is not None and not last["ok"]:
            problems.append(f"the last {kind} failed: {last['error']}")
    return problems
