"""Formatting results for people (tables, sizes) and for machines (JSON)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from dbsnap.names import printable
from dbsnap.redact import scrub

if TYPE_CHECKING:
    from dbsnap.manifest import Snapshot
    from dbsnap.pruning import PruneResult
    from dbsnap.results import SnapshotResult

FUTURE_GRACE_SECONDS = 300  # as dbsnap.retention.FUTURE_GRACE


def in_future(snap: Snapshot) -> bool:
    """Tell whether a snapshot is dated after now (a host with a wrong clock)."""
    return (snap.created_at - datetime.now(UTC)).total_seconds() > FUTURE_GRACE_SECONDS


def human_size(size: int) -> str:
    """Render a byte count like ``12.3 MB``."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"


def snapshot_json(snap: Snapshot) -> dict[str, Any]:
    """Return a snapshot's manifest plus the store it was listed from and whether it is dated ahead."""
    return {**snap.to_manifest(), "store": snap.store, "in_future": in_future(snap)}


def table(rows: list[list[str]], header: list[str]) -> str:
    """Lay out rows as an aligned plain-text table."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in [header, *rows]]
    return "\n".join(lines)


def snapshots_table(snaps: list[Snapshot]) -> str:
    """Return the table that `dbsnap list` prints."""
    rows = [
        [
            printable(s.name),
            printable(s.database),
            s.created_at.strftime("%Y-%m-%d %H:%M:%S UTC")
            + (" (IN THE FUTURE: a clock is wrong)" if in_future(s) else ""),
            human_size(s.size),
            f"{s.driver}/{s.codec}",
            s.store,
        ]
        for s in snaps
    ]
    return table(rows, ["NAME", "DATABASE", "CREATED", "SIZE", "DRIVER", "STORE"])


def snapshot_result_json(result: SnapshotResult) -> dict[str, Any]:
    """Return `snapshot --json`'s object: the manifest, duration and each store's outcome."""
    stores: list[dict[str, Any]] = [
        {"store": s.store, "ok": True, "manifest": s.to_manifest()} for s in result.snapshots
    ]
    stores += [{"store": k, "ok": False, "error": scrub(str(e))} for k, e in result.failures.items()]
    first = result.snapshots[0].to_manifest() if result.snapshots else None
    return {"snapshot": first, "duration": round(result.duration, 3), "stores": stores}


def prune_json(results: list[PruneResult]) -> dict[str, Any]:
    """Return `prune --json`'s object: keep and remove lists with names and reasons."""
    keep: list[dict[str, Any]] = []
    remove: list[dict[str, Any]] = []
    for result in results:
        for label, plan in result.plans.items():
            for snap in plan.keep:
                keep.append(
                    {
                        "name": snap.name,
                        "database": label,
                        "store": result.store,
                        "reasons": list(plan.reasons(snap)),
                    }
                )
            for snap in plan.remove:
                remove.append({"name": snap.name, "database": label, "store": result.store, "reasons": []})
    swept = [name for r in results for name in r.swept]
    return {"dry_run": all(r.dry_run for r in results), "keep": keep, "remove": remove, "swept": swept}


def prune_text(results: list[PruneResult]) -> str:
    """Return the per-snapshot keep/remove lines that `prune` prints."""
    lines: list[str] = []
    for result in results:
        verb = "would remove" if result.dry_run else "removed"
        for label, plan in result.plans.items():
            lines.append(f"{result.store}  database {label}: {plan.policy.describe()}")
            for snap in sorted(
                [*plan.keep, *plan.remove], key=lambda s: (s.created_at, s.name), reverse=True
            ):
                why = plan.reasons(snap)
                action = f"keep   {snap.name}  ({', '.join(why)})" if why else f"{verb} {snap.name}"
                lines.append(f"  {action}")
        for name in result.swept:
            lines.append(f"  swept leftover {name}")
    return "\n".join(lines) if lines else "no snapshots"


def verify_line(result: dict[str, Any]) -> str:
    """Return one line of `verify` output: ok/BAD, the name, and what was checked or went wrong."""
    if not result["ok"]:
        return f"BAD  {result['name']}  {result['error']}"
    checks = result.get("checks") or {}
    facts = []
    if "tables" in checks:
        facts.append(f"{checks['tables']} tables in the archive")
    restored = checks.get("restore")
    if restored:
        rows = sum(restored.get("tables", {}).values())
        facts.append(f"restored {len(restored.get('tables', {}))} tables, {rows} rows")
    return f"ok   {result['name']}" + (f"  ({'; '.join(facts)})" if facts else "")
