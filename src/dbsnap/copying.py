"""Copying a committed snapshot to another store (the retry that needs no new dump), encrypting on the way."""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import Sequence
from typing import Any

import attrs

from dbsnap.agecodec import AgeCodec
from dbsnap.context import Context
from dbsnap.exceptions import SnapshotNotFound, StoreError, VerificationError
from dbsnap.manifest import Snapshot
from dbsnap.resolve import open_store
from dbsnap.stores.lock import store_lock
from dbsnap.stores.store import Store
from dbsnap.streams import HashingSink, Progress, copy

log = logging.getLogger("dbsnap")


def copy_snapshot(
    name: str,
    source: str | Store,
    destination: str | Store,
    *,
    plugins: Any = None,
    config: Any = None,
    progress: Progress | None = None,
    encrypt_to: Sequence[str] = (),
) -> Snapshot:
    """Copy snapshot `name` to another store through the commit protocol, checking every byte.

    With `encrypt_to` (age recipients), a snapshot in clear is encrypted on its way, as
    `NAME.age`; a destination that requires encryption refuses one in clear otherwise. A copy
    already in `destination` with the same bytes is left as it is (re-running is safe).
    """
    ctx = Context.of(config, plugins)
    src, dst = open_store(source, ctx.plugins), open_store(destination, ctx.plugins)
    snap = src.get(name)
    age = AgeCodec(encrypt_to) if encrypt_to and not snap.encrypted else None
    target = name + (age.extension if age else "")
    if dst.require_encryption and not snap.encrypted and age is None:
        raise StoreError(f"{dst.url} requires encrypted snapshots and {name!r} is not encrypted; not copied")
    with contextlib.suppress(SnapshotNotFound):
        there = dst.get(target)
        if age is not None or (there.sha256, there.size) == (snap.sha256, snap.size):
            return there
    token = secrets.token_hex(6)
    wait, stale = ctx.config.lock_wait, ctx.config.lock_stale
    with (
        store_lock(dst.medium, snap.database, token=token, wait=wait, stale_after=stale),
        dst.writing(target, token) as pending,
        src.open_read(name) as handle,
    ):
        stored = HashingSink(pending.file, progress)
        with age.encoder(stored) if age else contextlib.nullcontext(stored) as sink:
            read = HashingSink(sink)
            copy(handle, read)
        if (read.size, read.hexdigest()) != (snap.size, snap.sha256):
            raise VerificationError(f"snapshot {name!r} in {src.url} does not match its manifest; not copied")
        manifest = snap
        if age is not None:
            chain = f"{snap.codec}+age" if snap.codec != "none" else "age"
            manifest = attrs.evolve(
                snap,
                size=stored.size,
                sha256=stored.hexdigest(),
                codec=chain,
                recipients=tuple(age.recipients),
            )
        copied = pending.commit(manifest)
    log.info("Database backup: copied %s from %s to %s", name, src.url, dst.url)
    ctx.plugins.snapshot_finished(copied, copied.store)
    return copied
