"""Streaming codecs (zstd, gzip, none) that encode a driver's output before it is stored."""

from __future__ import annotations

import contextlib
import gzip
import os
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol, cast

import zstandard

from dbsnap.streams import Sink, Source


class Codec(Protocol):
    """Encodes a byte stream on its way into a store and decodes it on the way out."""

    name: str
    extension: str

    def encoder(self, sink: Sink) -> AbstractContextManager[Sink]:
        """Return a context manager yielding a sink that encodes into `sink`; closing flushes."""

    def decoder(self, source: Source) -> AbstractContextManager[Source]:
        """Return a context manager yielding a source that decodes `source`."""


class ZstdCodec:
    """Zstandard, multi-threaded; the payload is a standard .zst file (`zstd -d` reads it)."""

    name = "zstd"
    extension = ".zst"

    # zstd's default job for level 3 is 8 MiB per worker. On 513 MB of pg_dump output, 2 MiB jobs
    # compressed as fast as 4 MiB (0.38 s) into a 3.6% larger payload and held 14 MiB instead of 24
    # (docs/performance.md); the memory ceiling is what a nightly job next to production needs.
    JOB_SIZE = 2 * 1024 * 1024
    # Two workers compress about 1 GB/s at level 3, more than pg_dump or SQLite produce; more
    # workers would only hold more buffers.
    MAX_THREADS = 2

    def __init__(self, level: int = 3, threads: int | None = None) -> None:
        """Compress at `level` with `threads` workers (None: one per core, at most MAX_THREADS)."""
        self.level = level
        self.threads = min(os.cpu_count() or 1, self.MAX_THREADS) if threads is None else threads

    @contextmanager
    def encoder(self, sink: Sink) -> Iterator[Sink]:
        """Yield a sink that compresses into `sink`."""
        params = zstandard.ZstdCompressionParameters.from_level(
            self.level, threads=self.threads, job_size=self.JOB_SIZE if self.threads else 0
        )
        compressor = zstandard.ZstdCompressor(compression_params=params)
        with compressor.stream_writer(cast(Any, sink), closefd=False) as writer:
            yield writer

    @contextmanager
    def decoder(self, source: Source) -> Iterator[Source]:
        """Yield a source that decompresses `source` (concatenated frames included)."""
        reader = zstandard.ZstdDecompressor().stream_reader(
            cast(Any, source), read_across_frames=True, closefd=False
        )
        with reader:
            yield reader


class GzipCodec:
    """gzip, for tools that only know gzip; the payload is a standard .gz file."""

    name = "gzip"
    extension = ".gz"

    def __init__(self, level: int = 6) -> None:
        """Compress at `level` (1-9; 6 is gzip's own default)."""
        self.level = level

    @contextmanager
    def encoder(self, sink: Sink) -> Iterator[Sink]:
        """Yield a sink that gzips into `sink`."""
        with gzip.GzipFile(fileobj=cast(Any, sink), mode="wb", mtime=0, compresslevel=self.level) as out:
            yield out

    @contextmanager
    def decoder(self, source: Source) -> Iterator[Source]:
        """Yield a source that gunzips `source`."""
        with gzip.GzipFile(fileobj=cast(Any, source), mode="rb") as reader:
            yield reader


class NoCodec:
    """Store the driver's bytes as they are (pg_dump's custom format is already compressed)."""

    name = "none"
    extension = ""

    @contextmanager
    def encoder(self, sink: Sink) -> Iterator[Sink]:
        """Yield `sink` itself."""
        yield sink

    @contextmanager
    def decoder(self, source: Source) -> Iterator[Source]:
        """Yield `source` itself."""
        yield source


class Chain:
    """Codec stages applied in order: the first next to the driver, the last next to the store.

    Its name is the stages' names joined by "+" (``zstd+age``), which is how a manifest records it.
    """

    def __init__(self, stages: Sequence[Codec]) -> None:
        """Apply `stages` in this order when encoding (and the reverse when decoding)."""
        self.stages = [s for s in stages if s.name != "none"] or [NoCodec()]
        self.name = "+".join(s.name for s in self.stages)
        self.extension = "".join(s.extension for s in self.stages)

    @contextmanager
    def encoder(self, sink: Sink) -> Iterator[Sink]:
        """Yield a sink that runs every stage, the last one writing into `sink`."""
        with contextlib.ExitStack() as stack:
            current = sink
            for stage in reversed(self.stages):
                current = stack.enter_context(stage.encoder(current))
            yield current

    @contextmanager
    def decoder(self, source: Source) -> Iterator[Source]:
        """Yield a source that undoes every stage, the last one first."""
        with contextlib.ExitStack() as stack:
            current = source
            for stage in reversed(self.stages):
                current = stack.enter_context(stage.decoder(current))
            yield current
