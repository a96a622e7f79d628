"""One snapshot run: every store opened and locked in parallel, one dump, each store committing alone."""

from __future__ import annotations

import functools
import logging
import secrets
import time
from datetime import UTC, datetime
from typing import Any

import attrs

from dbsnap import __version__
from dbsnap.agecodec import AgeCodec
from dbsnap.codecs import Chain
from dbsnap.context import Context
from dbsnap.drivers.base import source_of
from dbsnap.exceptions import DbsnapError, StoreError
from dbsnap.fanout import Branch, FanOut
from dbsnap.manifest import Snapshot
from dbsnap.names import default_name, validate_name
from dbsnap.redact import redact_url, scrub
from dbsnap.resolve import open_store
from dbsnap.results import Encryption, SnapshotResult
from dbsnap.stores.store import Store
from dbsnap.streams import HashingSink, Progress

log = logging.getLogger("dbsnap")


class SnapshotRun:
    """One snapshot of one database into several stores, each store failing alone."""

    def __init__(
        self,
        driver: Any,
        specs: list[str | Store],
        codec: Any,
        ctx: Context,
        progress: Progress | None,
        encryption: Encryption | None = None,
    ):
        """Prepare the run; nothing is connected or written yet.

        With `encryption` for every store, the age stage joins the codec chain (one encrypted
        payload for all); for some stores only, those stores' copies go through it on their own.
        """
        self.driver = driver
        self.specs = specs
        self.ctx = ctx
        self.base = codec
        self.encryption = encryption
        self.age = AgeCodec(encryption.recipients) if encryption and encryption.recipients else None
        everywhere = self.age is not None and encryption is not None and encryption.stores is None
        self.codec = Chain([codec, self.age]) if everywhere and self.age else codec
        self.only = {self._key(s) for s in encryption.stores or ()} if encryption else set()
        self.progress = progress
        self.token = secrets.token_hex(6)
        self.timeout = ctx.config.store_timeout

    def _open(self, spec: str | Store) -> Store:
        return spec if isinstance(spec, Store) else open_store(spec, self.ctx.plugins)

    def _key(self, spec: str | Store) -> str:
        return spec.key if isinstance(spec, Store) else open_store(spec, self.ctx.plugins).key

    def _extra(self, spec: str | Store) -> AgeCodec | None:
        """The age stage for a store that alone gets an encrypted copy."""
        return self.age if self.only and self._key(spec) in self.only else None

    def _refused(self, branch: Branch) -> str | None:
        """Why a store may not take this snapshot (one that requires encryption gets none in clear)."""
        encrypted = self.codec.name != self.base.name or branch.extra is not None
        if branch.store is not None and branch.store.require_encryption and not encrypted:
            return (
                f"{branch.url} requires encrypted snapshots (encrypt=required) and this one is not "
                "encrypted: set DBSNAP_AGE_RECIPIENTS or pass --encrypt-to"
            )
        return None

    def run(self, label: str, name: str | None) -> SnapshotResult:
        """Lock every store, dump once into all that are ready, commit each; report each store's fate."""
        started = time.monotonic()
        locking = (self.ctx.config.lock_wait, self.ctx.config.lock_stale)
        branches = [
            Branch(
                _shown(spec),
                functools.partial(self._open, spec),
                label,
                self.token,
                locking,
                self._extra(spec),
            )
            for spec in self.specs
        ]
        try:
            ready = self._await_ready(branches, locking[0])
            for branch in ready:
                refused = self._refused(branch)
                if refused is not None:
                    branch.refuse(refused)
            ready = [b for b in ready if b.live]
            if not ready:
                raise _first_error(branches)
            # The time and the default name are taken while holding the locks, so a concurrent run
            # cannot take the name and created_at is when the dump really starts.
            created = datetime.now(UTC)
            extension = self.driver.extension + self.codec.extension
            chosen = name or _free_name([b.taken for b in ready], label, extension, created)
            log.info("Database backup: starting snapshot %s of %s", chosen, redact_url(self.driver.url))
            self.ctx.plugins.snapshot_started(label)
            for branch in ready:
                branch.begin(self._name_for(branch, chosen, explicit=name is not None))
            fan = FanOut(ready, self.timeout)
            hashing = HashingSink(fan, self.progress)
            with self.codec.encoder(hashing) as encoder:
                info = self.driver.dump(encoder)
            fan.close()
            template = Snapshot(
                name=chosen,
                database=label,
                driver=self.driver.name,
                created_at=created,
                size=hashing.size,
                sha256=hashing.hexdigest(),
                codec=self.codec.name,
                driver_info=info,
                dbsnap_version=__version__,
                source=source_of(self.driver),
                recipients=tuple(self.encryption.recipients)
                if self.codec is not self.base and self.encryption
                else (),
                duration=round((datetime.now(UTC) - created).total_seconds(), 3),
            )
            for branch in ready:
                if branch.live:
                    suffix = branch.extra.extension if branch.extra else ""
                    namer = (
                        None if name else functools.partial(_default_name, label, extension, created, suffix)
                    )
                    own = self._name_for(branch, chosen, explicit=name is not None)
                    branch.commit(attrs.evolve(self._template_for(branch, template), name=own), namer)
            for branch in ready:
                branch.wait(self.timeout)
        finally:
            for branch in branches:
                branch.stop()
            for branch in branches:
                # What a failed run wrote is removed before it returns (a stalled store is not waited for).
                if branch.live:
                    branch.done.wait(self.timeout)
        committed = [b.result for b in branches if b.result is not None and b.live]
        failures = {b.url: b.error for b in branches if b.error is not None or b.result is None}
        return SnapshotResult(committed, {k: v or StoreError("not committed") for k, v in failures.items()},
                              time.monotonic() - started)  # fmt: skip

    @staticmethod
    def _name_for(branch: Branch, chosen: str, *, explicit: bool) -> str:
        """A default name says what the payload is: a copy encrypted for this store alone ends in .age."""
        return chosen + branch.extra.extension if branch.extra and not explicit else chosen

    def _template_for(self, branch: Branch, template: Snapshot) -> Snapshot:
        """The manifest of this store's copy: its own bytes when only it was encrypted."""
        if branch.stored is None or self.age is None:
            return template
        size, sha256 = branch.stored
        chain = Chain([self.base, self.age])
        return attrs.evolve(
            template, size=size, sha256=sha256, codec=chain.name, recipients=tuple(self.age.recipients)
        )

    def _await_ready(self, branches: list[Branch], lock_wait: float) -> list[Branch]:
        """Wait until each store is connected and locked (or failed); return those that are ready.

        A store that stops answering for the store timeout is cut off; one that keeps answering
        while another run holds its lock is waited for (the lock gives up after `lock_wait`).
        """
        deadline = time.monotonic() + lock_wait + self.timeout
        for branch in branches:
            while not branch.ready.wait(0.2):
                if time.monotonic() - branch.progress > self.timeout:
                    branch.cut_off(f"no answer for {self.timeout:g}s while connecting and locking")
                    break
                if time.monotonic() > deadline:
                    branch.cut_off(f"not locked within {lock_wait + self.timeout:g}s")
                    break
        ready = [b for b in branches if b.live]
        if not ready:
            raise _first_error(branches)
        return ready


def _first_error(branches: list[Branch]) -> BaseException:
    error = next((b.error for b in branches if b.error is not None), None)
    if isinstance(error, DbsnapError):
        return error
    return StoreError(f"every store failed: {scrub(str(error))}")


def _default_name(label: str, extension: str, when: datetime, suffix: str, counter: int) -> str:
    return validate_name(default_name(label, extension, when, counter) + suffix)


def _shown(spec: str | Store) -> str:
    return spec.url if isinstance(spec, Store) else redact_url(spec)


def _free_name(taken: list[set[str]], label: str, extension: str, when: datetime) -> str:
    names = set().union(*taken)
    counter = 0
    while True:
        name = default_name(label, extension, when, counter)
        if name not in names and f"{name}.manifest.json" not in names:
            return name
        counter += 1
