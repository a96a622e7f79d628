"""Reading what stores hold: listings that go on when a store is down, and which snapshot is the latest.

With several stores, a store that cannot be reached is reported (and its failure kept) while the
others are listed. Databases are told apart by the source recorded in their manifests (a SQLite
file's host and resolved path, a PostgreSQL server's host, port and database); the label is only
an alias, and a label that would silently stand for two databases is refused where it would choose.
"""

from __future__ import annotations

import concurrent.futures
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import attrs

from dbsnap.context import Context
from dbsnap.drivers.base import source_of
from dbsnap.exceptions import ConfigError, DbsnapError, SnapshotNotFound, StoreError, StoreMissing
from dbsnap.manifest import Snapshot, describe_source, identity
from dbsnap.redact import scrub
from dbsnap.resolve import StoreArg, open_stores
from dbsnap.retention import FUTURE_GRACE
from dbsnap.stores.store import Problem, Store

log = logging.getLogger("dbsnap")


@attrs.frozen
class Survey:
    """What the reachable stores hold, and the stores that could not be read.

    Attributes:
        snapshots: Every valid snapshot, newest first (once per store that has it).
        problems: Objects that look like snapshots and are not valid, by store URL.
        failures: The error of each store that could not be listed, by store URL.
    """

    snapshots: list[Snapshot]
    problems: dict[str, list[Problem]]
    failures: dict[str, BaseException]


T = TypeVar("T")


def gather(
    stores: list[Store], timeout: float, work: Callable[[Store], T]
) -> tuple[dict[str, T], dict[str, BaseException]]:
    """Run `work` on every store at once; a store that fails or does not answer within `timeout` is reported.

    Returns the results and the failures, each by store URL.
    """
    results: dict[str, T] = {}
    failures: dict[str, BaseException] = {}
    pool = concurrent.futures.ThreadPoolExecutor(max(1, len(stores)), thread_name_prefix="dbsnap-list")
    try:
        futures = {pool.submit(work, st): st for st in stores}
        done, pending = concurrent.futures.wait(futures, timeout=timeout)
        for future in pending:
            failures[futures[future].url] = StoreError(
                f"{futures[future].url} did not answer within {timeout:g}s"
            )
        for future in done:
            st = futures[future]
            try:
                results[st.url] = future.result()
            except Exception as exc:  # noqa: BLE001 - each store fails alone
                failures[st.url] = st.explain(exc)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return results, failures


def survey(stores: list[Store], timeout: float) -> Survey:
    """List every store at once; a store that fails or does not answer within `timeout` is reported."""
    listings, failures = gather(stores, timeout, _list_one)
    found = [snap for listing in listings.values() for snap in listing.snapshots]
    problems = {url: listing.problems for url, listing in listings.items() if listing.problems}
    found.sort(key=lambda s: (s.created_at, s.name), reverse=True)
    return Survey(found, problems, failures)


def _list_one(st: Store) -> Any:
    st.require()
    return st.listing()


def read_stores(store: StoreArg = None, *, config: Any = None, plugins: Any = None) -> Survey:
    """Survey the given (or configured) stores; raise when none of them could be read."""
    ctx = Context.of(config, plugins)
    stores = open_stores(store, ctx.config, ctx.plugins)
    result = survey(stores, ctx.config.store_timeout)
    if result.failures and len(result.failures) == len(stores):
        error = next(iter(result.failures.values()))
        raise error if isinstance(error, DbsnapError) else StoreError(str(error))
    return result


def matches(snap: Snapshot, database: str) -> bool:
    """Tell whether `database` (a label or an identity) names the snapshot's database."""
    return database in (snap.database, snap.identity)


def list_snapshots(
    store: StoreArg = None, database: str | None = None, *, config: Any = None, plugins: Any = None
) -> list[Snapshot]:
    """Return the valid snapshots in the store(s), newest first; `database` is a label or an identity.

    A store that cannot be read is logged and skipped when others can; if none can, its error is raised.
    """
    seen = read_stores(store, config=config, plugins=plugins)
    for url, error in seen.failures.items():
        log.warning("Database backup: cannot read %s: %s", url, scrub(str(error)))
    return [s for s in seen.snapshots if database is None or matches(s, database)]


def in_future(snap: Snapshot, now: datetime | None = None) -> bool:
    """Tell whether a snapshot is dated after now (a host with a wrong clock); prune keeps those aside."""
    return snap.created_at > (now or datetime.now(UTC)) + FUTURE_GRACE


def sources_of(snaps: list[Snapshot]) -> dict[str, list[Snapshot]]:
    """Group snapshots by the database they are of."""
    groups: dict[str, list[Snapshot]] = {}
    for snap in snaps:
        groups.setdefault(snap.identity, []).append(snap)
    return groups


def one_source(snaps: list[Snapshot], label: str) -> list[Snapshot]:
    """Return `snaps` if they are all of one database; refuse a label that stands for several."""
    groups = sources_of(snaps)
    if len(groups) > 1:
        where = "; ".join(
            f"{describe_source(group[0].source) if group[0].source else 'label ' + group[0].database}"
            f" ({len(group)} snapshot(s))"
            for group in groups.values()
        )
        raise ConfigError(
            f"the label {label!r} is used by {len(groups)} different databases ({where}); name the "
            "snapshot to restore, or give the database's own URL so its source tells them apart"
        )
    return snaps


def latest(store: StoreArg, target_identity: str, label: str, **kwargs: Any) -> Snapshot:
    """Return the newest snapshot of the database `target_identity` (falling back to `label`).

    Snapshots dated in the future are skipped, as prune skips them when it calls one the newest.
    """
    snaps = list_snapshots(store, **kwargs)
    chosen = [s for s in snaps if s.identity == target_identity]
    if not chosen:
        # Restoring elsewhere (a copy, another host): the label may name the database, if only one.
        chosen = one_source([s for s in snaps if s.database == label], label)
    current = [s for s in chosen if not in_future(s)]
    if current:
        return current[0]
    if chosen:
        raise SnapshotNotFound(
            f"every snapshot of {label!r} is dated in the future ({chosen[0].created_at:%Y-%m-%d %H:%M} "
            "UTC): a host's clock is wrong; name the snapshot to restore explicitly"
        )
    labels = ", ".join(sorted({s.database for s in snaps})) or "none"
    raise SnapshotNotFound(
        f"no snapshot of database {label!r} in the store (databases with snapshots: {labels})"
    )


def find(name: str, stores: list[Store]) -> tuple[Store, Snapshot]:
    """Return the first store that holds snapshot `name` and its manifest; stores that fail are skipped."""
    errors: list[str] = []
    missing: list[StoreMissing] = []
    for st in stores:
        try:
            return st, st.get(name)
        except SnapshotNotFound as exc:
            try:
                st.require()
            except StoreMissing as gone:  # not a missing snapshot: a store that is not there
                missing.append(gone)
                errors.append(str(gone))
                continue
            errors.append(str(exc))
        except DbsnapError as exc:
            if len(stores) == 1:
                raise
            log.warning("Database backup: cannot read %s: %s", st.url, exc)
            errors.append(str(exc))
        except OSError as exc:
            if len(stores) == 1:
                raise st.explain(exc) from None
            errors.append(str(st.explain(exc)))
    if missing and len(missing) == len(stores):
        raise missing[0]
    raise SnapshotNotFound("; ".join(errors) or f"no snapshot {name!r}")


def target_identity(driver: Any) -> str:
    """Return the identity of a driver's database, as a snapshot of it would record it."""
    return identity(driver.name, source_of(driver), driver.label())
