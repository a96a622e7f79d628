"""Tee: one byte stream fed to several sinks concurrently, a failing sink dropped, not fatal."""

from __future__ import annotations

import contextlib
import queue
import threading

from dbsnap.streams import CHUNK, Sink

_DONE = None
DEPTH = 4


class _Branch:
    def __init__(self, key: str, sink: Sink) -> None:
        self.key = key
        self.sink = sink
        self.queue: queue.Queue[bytes | None] = queue.Queue(maxsize=DEPTH)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name=f"dbsnap-tee-{key}", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while (block := self.queue.get()) is not _DONE:
            if self.error is None:
                try:
                    self.sink.write(block)
                except BaseException as exc:  # noqa: BLE001 - reported per store by the caller
                    self.error = exc


class Tee:
    """Buffers writes into chunks of about 1 MiB and hands each to every live branch's thread."""

    def __init__(self, sinks: dict[str, Sink], chunk: int = CHUNK) -> None:
        """Start one writer thread per sink; keys name the sinks in errors()."""
        self._branches = [_Branch(key, sink) for key, sink in sinks.items()]
        self._buffer = bytearray()
        self._chunk = chunk
        self._closed = False

    def write(self, data: bytes, /) -> int:
        """Queue `data`; raise only when every branch has failed (nothing is left to write to)."""
        self._buffer += data
        if len(self._buffer) >= self._chunk:
            self._dispatch()
        return len(data)

    def _dispatch(self) -> None:
        block, self._buffer = bytes(self._buffer), bytearray()
        live = [b for b in self._branches if b.error is None]
        if not live:
            raise self._branches[0].error or RuntimeError("no store to write to")
        for branch in live:
            branch.queue.put(block)

    def close(self) -> dict[str, BaseException]:
        """Flush, wait for every branch to finish; return the errors by sink key."""
        if not self._closed:
            self._closed = True
            if self._buffer:
                # Raises only when every branch already failed; those errors are returned below.
                with contextlib.suppress(BaseException):
                    self._dispatch()
            for branch in self._branches:
                branch.queue.put(_DONE)
            for branch in self._branches:
                branch.thread.join()
        return {b.key: b.error for b in self._branches if b.error is not None}

    def errors(self) -> dict[str, BaseException]:
        """Return the errors seen so far by sink key."""
        return {b.key: b.error for b in self._branches if b.error is not None}
