"""Byte-stream plumbing: the Sink/Source protocols, hashing, counting and copying in chunks."""

from __future__ import annotations

import hashlib
from typing import Protocol

CHUNK = 1024 * 1024


class Sink(Protocol):
    """Anything bytes can be written to."""

    def write(self, data: bytes, /) -> int | None:
        """Write `data`."""


class Source(Protocol):
    """Anything bytes can be read from in bounded chunks."""

    def read(self, size: int = -1, /) -> bytes:
        """Read at most `size` bytes; b"" at the end."""


class Progress(Protocol):
    """What dbsnap reports progress to: fsspec's Callback (and TqdmCallback) fit."""

    def set_size(self, size: int | None) -> None:
        """Announce the total number of bytes, when known."""

    def relative_update(self, inc: int = 1) -> None:
        """Report `inc` more bytes done."""


class HashingSink:
    """Passes writes on to `sink` while counting them, computing their SHA-256 and reporting progress."""

    def __init__(self, sink: Sink, progress: Progress | None = None) -> None:
        """Wrap `sink`; `progress` (an fsspec Callback) hears of every byte."""
        self._sink = sink
        self._hash = hashlib.sha256()
        self._progress = progress
        self.size = 0

    def write(self, data: bytes, /) -> int:
        """Hash, count and forward `data`."""
        self._hash.update(data)
        self.size += len(data)
        self._sink.write(data)
        if self._progress is not None:
            self._progress.relative_update(len(data))
        return len(data)

    def hexdigest(self) -> str:
        """Return the SHA-256 of everything written so far."""
        return self._hash.hexdigest()


def copy(source: Source, sink: Sink, chunk: int = CHUNK) -> int:
    """Copy `source` to `sink` in chunks of at most `chunk` bytes; return the byte count."""
    total = 0
    while block := source.read(chunk):
        sink.write(block)
        total += len(block)
    return total


def sha256_of(source: Source, chunk: int = CHUNK, progress: Progress | None = None) -> tuple[str, int]:
    """Return the SHA-256 hex digest and the length of everything `source` yields."""
    digest = hashlib.sha256()
    total = 0
    while block := source.read(chunk):
        digest.update(block)
        total += len(block)
        if progress is not None:
            progress.relative_update(len(block))
    return digest.hexdigest(), total
