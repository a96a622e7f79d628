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


class HashingSink:
    """Passes writes on to `sink` while counting them and computing their SHA-256."""

    def __init__(self, sink: Sink) -> None:
        """Wrap `sink`."""
        self._sink = sink
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes, /) -> int:
        """Hash, count and forward `data`."""
        self._hash.update(data)
        self.size += len(data)
        self._sink.write(data)
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


def sha256_of(source: Source, chunk: int = CHUNK) -> tuple[str, int]:
    """Return the SHA-256 hex digest and the length of everything `source` yields."""
    digest = hashlib.sha256()
    total = 0
    while block := source.read(chunk):
        digest.update(block)
        total += len(block)
    return digest.hexdigest(), total
