"""Restoring a snapshot: its bytes checked against the manifest, then handed to the database's driver."""

from __future__ import annotations

import logging
from typing import Any

from dbsnap.agecodec import check_identity, decoding_codec
from dbsnap.context import Context
from dbsnap.drivers.base import PARALLEL_RESTORE, can, coerce_options
from dbsnap.exceptions import ConfigError, DriverMismatchError
from dbsnap.fetch import verified_payload
from dbsnap.listing import find
from dbsnap.manifest import Snapshot
from dbsnap.redact import redact_url
from dbsnap.resolve import StoreArg, get_codec, open_driver, open_stores
from dbsnap.streams import Progress

log = logging.getLogger("dbsnap")


def restore(
    name_or_snapshot: str | Snapshot,
    database: str | None = None,
    store: StoreArg = None,
    *,
    config: Any = None,
    plugins: Any = None,
    driver_options: dict[str, Any] | None = None,
    restore_options: dict[str, Any] | None = None,
    progress: Progress | None = None,
    identity: str | None = None,
) -> Snapshot:
    """Check a snapshot's bytes, then replace `database`'s content with it; return the snapshot.

    An encrypted snapshot needs `identity` (an age identity file; default DBSNAP_AGE_IDENTITY_FILE).
    """
    ctx = Context.of(config, plugins)
    driver = open_driver(database or ctx.config.database or "", ctx.plugins, **(driver_options or {}))
    name = name_or_snapshot.name if isinstance(name_or_snapshot, Snapshot) else name_or_snapshot
    st, snap = find(name, open_stores(store, ctx.config, ctx.plugins))
    if snap.driver != driver.name:
        raise DriverMismatchError(
            f"snapshot {snap.name!r} was made by the {snap.driver} driver and cannot be restored "
            f"into a {driver.name} database ({redact_url(driver.url)})"
        )
    options = coerce_options(getattr(driver, "options", None), restore_options or {}, "restore", driver.name)
    if options.get("jobs") not in (None, 1) and not can(driver, PARALLEL_RESTORE):
        raise ConfigError(f"the {driver.name} driver restores in one transaction only; drop --jobs")
    identity = identity or ctx.config.identity_file
    codec = decoding_codec(snap, ctx.plugins, identity, get_codec)
    log.info("Database backup: restoring %s into %s", snap.name, redact_url(driver.url))
    with verified_payload(st, snap, progress) as path:
        check_identity(snap, path, codec, identity)
        driver.restore(path, codec, **options)
    log.info("Database backup: restored %s into %s", snap.name, redact_url(driver.url))
    ctx.plugins.restore_finished(snap, redact_url(driver.url))
    return snap
