"""verify(): prove a stored snapshot is whole, readable, and (on request) restorable."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import attrs

from dbsnap.agecodec import check_identity, decoding_codec
from dbsnap.context import Context
from dbsnap.drivers.base import CHECK_PAYLOAD, QUERIES, VERIFY_RESTORE, can
from dbsnap.exceptions import DbsnapError, DriverMismatchError, VerificationError
from dbsnap.fetch import check_stored, verified_payload
from dbsnap.listing import find
from dbsnap.manifest import Snapshot
from dbsnap.plugins import Plugins
from dbsnap.redact import scrub
from dbsnap.resolve import StoreArg, get_codec, open_driver, open_stores
from dbsnap.stores.records import keep, record_of
from dbsnap.streams import Progress

log = logging.getLogger("dbsnap")


@attrs.frozen
class Verification:
    """What verify checked.

    Attributes:
        snapshot: The snapshot, from its manifest.
        checks: Facts from the checks beyond the hash (archive tables, restored row counts...).
    """

    snapshot: Snapshot
    checks: dict[str, Any] = attrs.field(factory=dict)


def _driver_class(name: str, plugins: Plugins) -> Any:
    """The driver class whose name is `name` (a driver is registered under its name among its schemes)."""
    own = plugins.find("driver", name)
    if own is not None and getattr(own.factory, "name", None) == name:
        return own.factory
    for registration in plugins.drivers().values():
        if getattr(registration.factory, "name", None) == name:
            return registration.factory
    return None


def verify(
    name_or_snapshot: str | Snapshot,
    store: StoreArg = None,
    *,
    restore_into: str | None = None,
    config: Any = None,
    plugins: Plugins | None = None,
    progress: Progress | None = None,
    identity: str | None = None,
    queries: Sequence[str] = (),
    record: str | None = "verify",
) -> Verification:
    """Re-hash a snapshot's stored bytes against its manifest, and let its driver read it.

    With `restore_into` (a database URL), also restore it into a scratch database on that server
    (or a temporary file for SQLite) and check it there. Raises VerificationError if anything is off.
    An encrypted snapshot is checked by its stored bytes without `identity`; its content is checked
    (and restored) only with one. `queries` run on the restored copy (their first values are in
    ``checks["queries"]``). The outcome is recorded in the store as a `record` ("verify" or "drill";
    None: not recorded), where `dbsnap check` reads it.
    """
    ctx = Context.of(config, plugins)
    plugins = ctx.plugins
    name = name_or_snapshot.name if isinstance(name_or_snapshot, Snapshot) else name_or_snapshot
    st, snap = find(name, open_stores(store, ctx.config, plugins))
    checks: dict[str, Any] = {}
    cls = _driver_class(snap.driver, plugins)
    restore_check: Any = None
    if restore_into is not None:
        # Refuse a wrong target before a byte is read or downloaded.
        driver = open_driver(restore_into, plugins)
        if driver.name != snap.driver:
            raise DriverMismatchError(
                f"snapshot {snap.name!r} was made by the {snap.driver} driver; "
                f"it cannot be test-restored on a {driver.name} database"
            )
        if not can(driver, VERIFY_RESTORE):
            raise DbsnapError(f"the {driver.name} driver cannot verify by restoring")
        if queries and not can(driver, QUERIES):
            raise DbsnapError(f"the {driver.name} driver cannot run queries on a restored copy")
        restore_check = getattr(driver, "verify_restore")  # noqa: B009 - declared by VERIFY_RESTORE
    identity = identity or ctx.config.identity_file
    readable = can(cls, CHECK_PAYLOAD) and (identity is not None or not snap.encrypted)
    if snap.encrypted and identity is None and can(cls, CHECK_PAYLOAD):
        checks["note"] = "encrypted: its content was not checked (no identity; DBSNAP_AGE_IDENTITY_FILE)"
    started = time.monotonic()
    try:
        if restore_check is None and not readable:
            check_stored(st, snap, progress)
        else:
            codec = decoding_codec(snap, plugins, identity, get_codec)
            # verified_payload hashes as it reads (in place, or while downloading): one pass, not two.
            with verified_payload(st, snap, progress) as path:
                check_identity(snap, path, codec, identity)
                if readable:
                    checks.update(cls.check_payload(path, codec))
                if restore_check is not None:
                    extra = {"queries": list(queries)} if queries else {}
                    checks["restore"] = restore_check(path, codec, **extra)
    except VerificationError as exc:
        if record:
            took = time.monotonic() - started
            keep(st, record_of(record, snap, ok=False, duration=took, checks=checks, error=scrub(str(exc))))
        raise
    if record:
        took = time.monotonic() - started
        keep(st, record_of(record, snap, ok=True, duration=took, checks=checks, error=None))
    log.info("Database backup: snapshot %s in %s verified", snap.name, st.url)
    return Verification(snap, checks)
