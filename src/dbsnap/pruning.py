"""prune(): apply a retention policy to each database's snapshots in each store."""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

import attrs

from dbsnap.context import Context
from dbsnap.exceptions import ConfigError, DbsnapError, LockHeld
from dbsnap.listing import matches, one_source, sources_of
from dbsnap.manifest import Snapshot
from dbsnap.redact import scrub
from dbsnap.resolve import StoreArg, open_stores
from dbsnap.retention import Plan, Policy, plan
from dbsnap.stores.lock import store_lock, sweep_locks
from dbsnap.stores.store import Store

log = logging.getLogger("dbsnap")


@attrs.frozen
class PruneResult:
    """What prune did to one store.

    Attributes:
        store: The store's redacted URL.
        plans: The plan for each database, by its label (and its source when one label has several).
        removed: Names of the snapshots removed (empty on a dry run).
        swept: Leftover temporary objects removed.
        dry_run: Whether nothing was deleted.
        error: Why the store could not be pruned (None when it was); the other stores still were.
    """

    store: str
    plans: dict[str, Plan[Snapshot]]
    removed: list[str]
    swept: list[str]
    dry_run: bool
    error: BaseException | None = None


def _key(group: list[Snapshot], shared: bool) -> str:
    first = group[0]
    return f"{first.database} ({first.identity})" if shared else first.database


def prune(
    store: StoreArg = None,
    policy: Policy | None = None,
    dry_run: bool = False,
    *,
    database: str | None = None,
    stale_after: timedelta | None = None,
    now: datetime | None = None,
    config: Any = None,
    plugins: Any = None,
) -> list[PruneResult]:
    """Apply `policy` to each database's snapshots in each store; delete manifests before payloads.

    Snapshots are grouped by the database they are of (their recorded source), so two databases
    sharing a label never share a history; `database` (a label or an identity) that would stand
    for several databases is refused. Each store is pruned alone: one that fails has its error in
    its result while the others are pruned; when every store fails, the first error is raised.
    """
    ctx = Context.of(config, plugins)
    policy = policy or ctx.config.policy
    token = secrets.token_hex(6)
    results = []
    stores = open_stores(store, ctx.config, ctx.plugins)
    for st in stores:
        try:
            results.append(_prune_one(st, policy, dry_run, database, stale_after, now, token, ctx))
        except (ConfigError, LockHeld):
            raise  # a bad policy or label, or another run at work: not this store's fault alone
        except (DbsnapError, OSError) as exc:
            error = st.explain(exc) if isinstance(exc, OSError) and not isinstance(exc, DbsnapError) else exc
            if len(stores) == 1:
                raise error from None
            log.warning("Database backup: cannot prune %s: %s", st.url, scrub(str(error)))
            results.append(PruneResult(st.url, {}, [], [], dry_run, error))
    if results and all(r.error is not None for r in results):
        raise results[0].error  # type: ignore[misc]
    return results


def _prune_one(
    st: Store,
    policy: Policy,
    dry_run: bool,
    database: str | None,
    stale_after: timedelta | None,
    now: datetime | None,
    token: str,
    ctx: Context,
) -> PruneResult:
    """Prune one store."""
    st.require()
    snaps = [s for s in st.snapshots() if database is None or matches(s, database)]
    if database is not None:
        one_source(snaps, database)
    groups = sources_of(snaps)
    labels: dict[str, list[str]] = {}
    for group in groups.values():
        labels.setdefault(group[0].database, []).append(group[0].identity)
    plans: dict[str, Plan[Snapshot]] = {}
    removed: list[str] = []
    for ident, group in sorted(groups.items()):
        key = _key(group, len(labels[group[0].database]) > 1)
        if dry_run:
            plans[key] = plan(group, policy, now=now)
            continue
        # Plan and delete under the database's lock, on a listing taken while holding it.
        label = group[0].database
        with store_lock(st.medium, label, wait=ctx.config.lock_wait, stale_after=ctx.config.lock_stale):
            current = [s for s in st.snapshots() if s.identity == ident]
            plans[key] = plan(current, policy, now=now)
            for snap in plans[key].remove:
                st.delete(snap, token)
                removed.append(snap.name)
                log.info("Database backup: pruned %s (%s) from %s", snap.name, label, st.url)
    swept: list[str] = []
    if not dry_run:
        min_age = ctx.config.stale_after if stale_after is None else stale_after
        swept = st.sweep(min_age, ctx.config.lock_stale)
        swept += sweep_locks(st.medium, ctx.config.lock_stale)
    result = PruneResult(st.url, plans, removed, swept, dry_run)
    ctx.plugins.prune_finished(result, st.url, dry_run)
    return result
