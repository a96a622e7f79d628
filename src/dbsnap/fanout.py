"""One dump, many stores: each store opens, locks, writes and commits in its own thread, and fails alone.

A store that cannot be reached, refuses authentication, fills up, errors, or stalls (no progress for
the store timeout) is dropped from the run with its own error while the others go on. The dump is
held back by a slow store by at most a bounded buffer (DEPTH chunks); a stalled store is cut off and
its connection closed, never waited for.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from dbsnap.codecs import Codec
from dbsnap.exceptions import DbsnapError, StoreError
from dbsnap.manifest import Snapshot
from dbsnap.stores.lock import store_lock
from dbsnap.stores.store import Store
from dbsnap.streams import CHUNK, HashingSink

DEPTH = 4
_END = b""


class Branch:
    """One store's part of a snapshot run, in its own thread."""

    def __init__(
        self,
        shown: str,
        opener: Callable[[], Store],
        label: str,
        token: str,
        locking: tuple[float, float],
        extra: Codec | None = None,
    ) -> None:
        """Start opening and locking the store that `opener` returns (`shown` names it until then).

        `locking` is (how long to wait for another run's lock, how long a silent lock lives).
        `extra` is a codec stage only this store's copy goes through (age, to encrypt the off-site
        copy only); the branch then hashes what it stores itself (`stored`).
        """
        self.url = shown
        self.store: Store | None = None
        self.error: BaseException | None = None
        self.result: Snapshot | None = None
        self.taken: set[str] = set()
        self.progress = time.monotonic()
        self.ready = threading.Event()
        self.done = threading.Event()
        self._opener = opener
        self.extra = extra
        self.stored: tuple[int, str] | None = None
        self._label = label
        self._token = token
        self._locking = locking
        self._blocks: queue.Queue[bytes] = queue.Queue(maxsize=DEPTH)
        self._commands: queue.Queue[Any] = queue.Queue()
        self._written = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"dbsnap-store-{shown}", daemon=True)
        self._thread.start()

    @property
    def live(self) -> bool:
        """Whether the branch can still commit."""
        return self.error is None

    def _run(self) -> None:
        try:
            store = self.store = self._opener()
            self.url = store.url
            wait, stale = self._locking
            with store_lock(
                store.medium,
                self._label,
                token=self._token,
                progress=self._moved,
                stop=self._stopping,  # a run told to stop does not sit out DBSNAP_LOCK_WAIT
                wait=wait,
                stale_after=stale,
            ) as held:
                self.taken = set(store.entries())
                self.ready.set()
                name = self._commands.get()
                if not isinstance(name, str):
                    return
                with store.writing(name, self._token) as pending:
                    hashing = HashingSink(pending.file)
                    with contextlib.ExitStack() as stages:
                        sink = stages.enter_context(self.extra.encoder(hashing)) if self.extra else hashing
                        while block := self._next_block():  # an empty block ends the payload
                            sink.write(block)
                            self.progress = time.monotonic()
                    if self.extra is not None:
                        self.stored = (hashing.size, hashing.hexdigest())
                    pending.finish()
                    self.progress = time.monotonic()
                    self._written.set()
                    command = self._commands.get()
                    if not isinstance(command, tuple) or command[0] is None:
                        return
                    template, rename = command
                    if held.lost.is_set():
                        raise StoreError(
                            f"the lock in {store.url} was taken over by another run; not committed"
                        )
                    self.result = pending.commit(template, rename)
        except BaseException as exc:  # noqa: BLE001 - reported per store by the run
            if self.error is None:
                self.error = self.store.explain(exc) if self.store is not None else exc
        finally:
            self.ready.set()
            self._written.set()
            self.done.set()
            if self.store is not None:
                with contextlib.suppress(Exception):
                    self.store.medium.close()

    def _moved(self) -> None:
        self.progress = time.monotonic()

    def _next_block(self) -> bytes:
        while True:
            try:
                return self._blocks.get(timeout=1.0)
            except queue.Empty:
                if self._stopping.is_set():
                    raise StoreError(f"the run stopped before {self.url} had the whole payload") from None

    def begin(self, name: str) -> None:
        """Start writing the payload of snapshot `name`."""
        self.progress = time.monotonic()
        self._commands.put(name)

    def put(self, block: bytes, timeout: float) -> None:
        """Queue a block; cut the branch off if it makes no progress for `timeout` seconds."""
        while self.live:
            try:
                self._blocks.put(block, timeout=min(1.0, timeout))
                return
            except queue.Full:
                if time.monotonic() - self.progress > timeout:
                    self.cut_off(f"no progress for {timeout:g}s (DBSNAP_STORE_TIMEOUT)")

    def finish_writing(self, timeout: float) -> None:
        """Send the end of the payload and wait until it is durable, as long as it makes progress."""
        self.put(_END, timeout)
        while self.live and not self._written.wait(1.0):
            if time.monotonic() - self.progress > timeout:
                self.cut_off(f"no progress for {timeout:g}s finishing the upload")

    def commit(self, template: Snapshot, rename: Callable[[int], str] | None) -> None:
        """Ask the branch to commit `template`."""
        self._commands.put((template, rename))

    def wait(self, timeout: float) -> None:
        """Wait for the branch to end; cut it off if that takes longer than `timeout`."""
        if not self.done.wait(timeout) and self.live:
            self.cut_off(f"its commit did not finish within {timeout:g}s")

    def stop(self) -> None:
        """End the branch at whatever stage it is: what it did not commit is removed, its lock released."""
        self._stopping.set()
        self._commands.put(None)

    def refuse(self, why: str) -> None:
        """Drop this store before anything is written to it."""
        if self.error is None:
            self.error = StoreError(why)
        self.stop()

    def cut_off(self, why: str) -> None:
        """Drop this store from the run: record why and close its connection so its thread ends."""
        if self.error is None:
            self.error = StoreError(f"{self.url} stalled: {why}; it was dropped from this run")
        store = self.store
        if store is not None:
            threading.Thread(target=store.medium.close, daemon=True).start()
        with contextlib.suppress(queue.Empty):
            while True:
                self._blocks.get_nowait()


class FanOut:
    """A sink that hands each chunk of about 1 MiB to every live branch; raises only when none is left."""

    def __init__(self, branches: list[Branch], timeout: float) -> None:
        """Feed `branches`, cutting off any that stalls for `timeout` seconds."""
        self.branches = branches
        self.timeout = timeout
        self._buffer = bytearray()

    def write(self, data: bytes, /) -> int:
        """Buffer `data`; dispatch a chunk once it is full."""
        self._buffer += data
        if len(self._buffer) >= CHUNK:
            self._dispatch()
        return len(data)

    def _dispatch(self) -> None:
        block, self._buffer = bytes(self._buffer), bytearray()
        live = [b for b in self.branches if b.live]
        if not live:
            raise _all_failed(self.branches)
        for branch in live:
            branch.put(block, self.timeout)

    def close(self) -> None:
        """Dispatch the rest and wait until every live branch has made its payload durable."""
        if self._buffer:
            self._dispatch()
        for branch in self.branches:
            if branch.live:
                branch.finish_writing(self.timeout)


def _all_failed(branches: list[Branch]) -> BaseException:
    error = next((b.error for b in branches if b.error is not None), None)
    if isinstance(error, DbsnapError):
        return error
    return StoreError(f"every store failed: {error}")
