"""Taking a snapshot: one dump, encoded and hashed once, committed to every store that can take it."""

from __future__ import annotations

import logging
import time
from typing import Any

from dbsnap.context import Context
from dbsnap.copying import copy_snapshot
from dbsnap.exceptions import ConfigError, DbsnapError, StoreError
from dbsnap.manifest import Snapshot
from dbsnap.names import validate_label, validate_name
from dbsnap.redact import redact_url, scrub
from dbsnap.resolve import StoreArg, get_codec, open_driver, open_store
from dbsnap.results import Encryption, PartialSnapshotError, SnapshotResult
from dbsnap.snaprun import SnapshotRun
from dbsnap.stores.store import Store
from dbsnap.streams import Progress

__all__ = [
    "Encryption",
    "PartialSnapshotError",
    "SnapshotResult",
    "copy_snapshot",
    "snapshot",
    "snapshot_to_stores",
]

log = logging.getLogger("dbsnap")


def _specs(store: StoreArg, ctx: Context) -> list[str | Store]:
    """The stores of a run, de-duplicated by location; none is connected yet."""
    items: list[str | Store] = (
        list(ctx.config.stores)
        if store is None
        else ([store] if isinstance(store, str | Store) else list(store))
    )
    if not items:
        raise DbsnapError("no store given; pass --store or set DBSNAP_STORE")
    unique: dict[str, str | Store] = {}
    for item in items:
        try:
            key = item.key if isinstance(item, Store) else open_store(item, ctx.plugins).key
        except ConfigError:
            raise  # a malformed URL or an unknown protocol: a usage error, before any work
        except DbsnapError:
            key = redact_url(str(item))  # that store fails alone when the run opens it
        unique.setdefault(key, item)
    return list(unique.values())


def snapshot_to_stores(
    database: str | None = None,
    store: StoreArg = None,
    *,
    name: str | None = None,
    label: str | None = None,
    codec: str | None = None,
    config: Any = None,
    plugins: Any = None,
    driver_options: dict[str, Any] | None = None,
    progress: Progress | None = None,
    encryption: Encryption | None = None,
    codec_options: dict[str, Any] | None = None,
) -> SnapshotResult:
    """Dump `database` once and commit the same bytes to every store; report each store's outcome.

    `encryption` (default: the configured DBSNAP_AGE_RECIPIENTS for every store) encrypts with age;
    `codec_options` go to the codec's constructor (``{"level": 9}`` for zstd).

    Raises PartialSnapshotError (with the result) when some stores committed and others did not,
    and the first store's error when none did. `progress` hears of every stored byte.
    """
    ctx = Context.of(config, plugins)
    begun = time.monotonic()
    url = database or ctx.config.database or ""
    driver = open_driver(url, ctx.plugins, codec=codec, **(driver_options or {}))
    shown = label or driver.label()
    try:
        if name is not None:
            validate_name(name)
        if label is not None:
            validate_label(label)
        specs = _specs(store, ctx)
        chosen = get_codec(codec or driver.default_codec, ctx.plugins, **(codec_options or {}))
        driver.preflight()
        # After the preflight: a PostgreSQL service file names the database only once connected.
        shown = label or driver.label()
        if encryption is None and ctx.config.recipients:
            encryption = Encryption(ctx.config.recipients)
        result = SnapshotRun(driver, specs, chosen, ctx, progress, encryption).run(shown, name)
    except BaseException as exc:
        ctx.plugins.snapshot_failed(shown, exc, None, time.monotonic() - begun)
        raise
    for snap in result.snapshots:
        log.info("Database backup: snapshot %s (%d bytes) committed to %s", snap.name, snap.size, snap.store)
        ctx.plugins.snapshot_finished(snap, snap.store, result.duration)
    for key, failure in result.failures.items():
        log.debug("Database backup: snapshot of %s failed on %s: %s", shown, key, scrub(str(failure)))
        ctx.plugins.snapshot_failed(shown, failure, key, result.duration)
    if not result.snapshots:
        error = next(iter(result.failures.values()))
        raise (
            error
            if isinstance(error, DbsnapError)
            else StoreError(f"snapshot failed on every store: {error}")
        )
    if result.failures:
        raise PartialSnapshotError(
            f"snapshot {result.snapshots[0].name} committed to {len(result.snapshots)} store(s) but "
            f"failed on {', '.join(result.failures)}",
            result,
        )
    return result


def snapshot(
    database: str | None = None, store: StoreArg = None, name: str | None = None, **kwargs: Any
) -> Snapshot:
    """Snapshot `database` into `store` (a URL, a Store, or a list of them); return the manifest."""
    return snapshot_to_stores(database, store, name=name, **kwargs).snapshots[0]
