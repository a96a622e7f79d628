"""Streaming codecs (zstd, gzip, none) that encode a driver's output before it is stored."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol, cast

import zstandard

from dbsnap.hookspecs import Register, hookimpl
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

    # zstd's default job for level 3 is 8 MiB per worker; 4 MiB was as fast and as small on the
    # benchmarks and holds about 24 MiB less (benchmarks/ and docs/performance.md).
    JOB_SIZE = 4 * 1024 * 1024

    def __init__(self, level: int = 3, threads: int = -1) -> None:
        """Compress at `level` with `threads` workers (-1: one per core)."""
        self.level = level
        self.threads = threads

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

    @contextmanager
    def encoder(self, sink: Sink) -> Iterator[Sink]:
        """Yield a sink that gzips into `sink`."""
        with gzip.GzipFile(fileobj=cast(Any, sink), mode="wb", mtime=0) as out:
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


@hookimpl
def dbsnap_register_codecs(register: Register) -> None:
    """Register the built-in codecs."""
    register("zstd", ZstdCodec())
    register("gzip", GzipCodec())
    register("none", NoCodec())
