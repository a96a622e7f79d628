"""prune(): apply a retention policy to each database's snapshots in each store."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import attrs

from dbsnap.config import Config
from dbsnap.manifest import Snapshot
from dbsnap.plugins import Plugins, get_plugins
from dbsnap.resolve import StoreArg, open_stores
from dbsnap.retention import Plan, Policy, plan

log = logging.getLogger("dbsnap")


@attrs.frozen
class PruneResult:
    """What prune did to one store.

    Attributes:
        store: The store's redacted URL.
        plans: The plan for each database label.
        removed: Names of the snapshots removed (empty on a dry run).
        swept: Leftover temporary objects removed.
        dry_run: Whether nothing was deleted.
    """

    store: str
    plans: dict[str, Plan[Snapshot]]
    removed: list[str]
    swept: list[str]
    dry_run: bool


def prune(
    store: StoreArg = None,
    policy: Policy | None = None,
    dry_run: bool = False,
    *,
    database: str | None = None,
    stale_after: timedelta | None = None,
    now: datetime | None = None,
    config: Config | None = None,
    plugins: Plugins | None = None,
) -> list[PruneResult]:
    """Apply `policy` to each database's snapshots in each store; delete manifests before payloads."""
    config = config or Config.from_env()
    plugins = plugins or get_plugins()
    policy = policy or config.policy
    results = []
    for st in open_stores(store, config, plugins):
        groups: dict[str, list[Snapshot]] = {}
        for snap in st.snapshots():
            if database is None or snap.database == database:
                groups.setdefault(snap.database, []).append(snap)
        plans = {label: plan(snaps, policy, now=now) for label, snaps in sorted(groups.items())}
        removed: list[str] = []
        swept: list[str] = []
        if not dry_run:
            for label, group_plan in plans.items():
                for snap in group_plan.remove:
                    st.delete(snap)
                    removed.append(snap.name)
                    log.info("Database backup: pruned %s (%s) from %s", snap.name, label, st.url)
            swept = st.sweep(config.stale_after if stale_after is None else stale_after)
        result = PruneResult(st.url, plans, removed, swept, dry_run)
        plugins.prune_finished(result, st.url, dry_run)
        results.append(result)
    return results
