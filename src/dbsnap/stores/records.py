"""Check records: the outcome of the last verification and restore drill, kept beside the manifests.

A record is a small JSON object named ``.dbsnap-record.KIND.DB.STAMP.TOKEN.OUTCOME.json`` (DB: a hash
of the database's identity; OUTCOME ``ok`` or ``bad``). It is written as a manifest is (under a
temporary name, then renamed without replacing; or created whole on S3), so a reader sees a whole
record or none. Once a record is committed, the older ones of its kind and database are removed, but
for the newest good one while the newest is bad: a store holds at most two per kind and database.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
import socket
from datetime import UTC, datetime
from typing import Any

from dbsnap.manifest import Snapshot
from dbsnap.stores.media import SMALL_LIMIT
from dbsnap.stores.store import Store
from dbsnap.stores.temps import temp_name

log = logging.getLogger("dbsnap")
KINDS = ("verify", "drill")
FORMAT = "dbsnap-record/1"
_NAME = re.compile(
    r"\.dbsnap-record\.(verify|drill)\.([0-9a-f]{16})\.(\d{8}T\d{12}Z)\.([0-9a-f]{12})\.(ok|bad)\.json"
)


def _database_key(identity: str) -> str:
    return hashlib.sha256(identity.encode()).hexdigest()[:16]


def record_name(kind: str, identity: str, at: datetime, token: str, ok: bool) -> str:
    """The object name of a record (sortable by time within its kind and database)."""
    stamp = at.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return f".dbsnap-record.{kind}.{_database_key(identity)}.{stamp}.{token}.{'ok' if ok else 'bad'}.json"


def write_record(store: Store, record: dict[str, Any]) -> str:
    """Commit `record` (with ``kind``, ``identity``, ``at``, ``ok``); drop older ones; return its name."""
    token = secrets.token_hex(6)
    at = datetime.fromisoformat(str(record["at"]).replace("Z", "+00:00"))
    ok = bool(record.get("ok"))
    name = record_name(str(record["kind"]), str(record["identity"]), at, token, ok)
    data = json.dumps({"format": FORMAT, **record}, indent=2, sort_keys=True, ensure_ascii=False).encode()
    medium = store.medium
    if medium.commit == "rename":
        temp = temp_name(name, token)
        medium.put(temp, data)
        medium.rename(temp, name)
    else:
        medium.put(name, data)
    prefix = name.rsplit(".", 4)[0] + "."  # .dbsnap-record.KIND.DB.
    older = sorted(n for n in medium.scan() if n.startswith(prefix) and _NAME.fullmatch(n) and n < name)
    good = [n for n in older if n.endswith(".ok.json")]
    keep = {good[-1]} if good and not ok else set()
    for other in older:
        if other in keep:
            continue
        try:
            medium.delete(other)
        except Exception as exc:  # noqa: BLE001 - an old record left behind is harmless
            log.debug("Database backup: could not remove old record %s: %s", other, exc)
    return name


def read_records(store: Store, names: list[str] | None = None) -> list[dict[str, Any]]:
    """Every readable record in `store`, oldest first; damaged ones are skipped with a warning."""
    listed = sorted(n for n in (store.entries() if names is None else names) if _NAME.fullmatch(n))
    found: list[dict[str, Any]] = []
    for name, data in store.medium.read_many(listed, SMALL_LIMIT).items():
        try:
            if isinstance(data, Exception):
                raise data
            record = json.loads(data)
            if not isinstance(record, dict) or record.get("format") != FORMAT:
                raise ValueError("not a dbsnap record")
        except (ValueError, OSError) as exc:
            log.warning("Database backup: ignoring record %s in %s: %s", name, store.url, exc)
            continue
        found.append(record)
    return sorted(found, key=lambda r: str(r.get("at", "")))


def latest(
    records: list[dict[str, Any]], kind: str, identity: str, *, ok: bool | None = None
) -> dict[str, Any] | None:
    """The newest record of `kind` for the database `identity` (only good or bad ones, if `ok` says)."""
    chosen = [
        r for r in records
        if r.get("kind") == kind and r.get("identity") == identity and (ok is None or r.get("ok") is ok)
    ]  # fmt: skip
    return chosen[-1] if chosen else None


def record_of(
    kind: str, snap: Snapshot, *, ok: bool, duration: float, checks: dict[str, Any], error: str | None
) -> dict[str, Any]:
    """The record of one verification or drill of `snap` (no secret: URLs are redacted by the caller)."""
    from dbsnap import __version__

    return {
        "kind": kind,
        "ok": ok,
        "at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "snapshot": snap.name,
        "snapshot_created_at": snap.created_at.isoformat().replace("+00:00", "Z"),
        "database": snap.database,
        "identity": snap.identity,
        "duration": round(duration, 3),
        "checks": checks,
        "error": error,
        "host": socket.gethostname(),
        "dbsnap_version": __version__,
    }


def keep(store: Store, record: dict[str, Any]) -> None:
    """Write a record, warning instead of failing when the store will not take it (read-only access)."""
    try:
        write_record(store, record)
    except Exception as exc:  # noqa: BLE001 - the check itself succeeded or failed; the record is extra
        log.warning(
            "Database backup: could not record the %s of %s in %s (%s); dbsnap check will not see it",
            record["kind"],
            record["snapshot"],
            store.url,
            store.explain(exc),
        )
