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
from dbsnap.stores.lock import store_lock, sweep_locks

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
        labels = sorted({s.database for s in st.snapshots() if database is None or s.database == database})
        plans: dict[str, Plan[Snapshot]] = {}
        removed: list[str] = []
        swept: list[str] = []
        for label in labels:
            if dry_run:
                plans[label] = plan([s for s in st.snapshots() if s.database == label], policy, now=now)
                continue
            # Plan and delete under the database's lock, on a listing taken while holding it.
            with store_lock(st, label, wait=config.lock_wait, stale_after=config.lock_stale):
                plans[label] = plan([s for s in st.snapshots() if s.database == label], policy, now=now)
                for snap in plans[label].remove:
                    st.delete(snap)
                    removed.append(snap.name)
                    log.info("Database backup: pruned %s (%s) from %s", snap.name, label, st.url)
        if not dry_run:
            swept = st.sweep(config.stale_after if stale_after is None else stale_after)
            swept += sweep_locks(st, config.lock_stale)
        result = PruneResult(st.url, plans, removed, swept, dry_run)
        plugins.prune_finished(result, st.url, dry_run)
        results.append(result)
    return results
