"""A third-party driver for plain text files (``text:///path``), used to test the plugin system."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from dbsnap import hookimpl
from dbsnap.codecs import Codec
from dbsnap.streams import Sink, copy


class TextFileDriver:
    """Snapshots a text file byte for byte."""

    name = "textfile"
    extension = ".txt"
    default_codec = "gzip"

    def __init__(self, url: str, **options: Any) -> None:
        self.url = url
        self.path = Path(url.removeprefix("text://"))

    def label(self) -> str:
        return self.path.stem

    def preflight(self) -> None:
        if not self.path.is_file():
            raise FileNotFoundError(self.path)

    def dump(self, sink: Sink, *, codec: str = "gzip") -> dict[str, Any]:
        with self.path.open("rb") as handle:
            copy(handle, sink)
        return {"format": "text"}

    def restore(self, payload: str, codec: Codec, **options: Any) -> None:
        temp = self.path.with_suffix(".restoring")
        with open(payload, "rb") as raw, codec.decoder(raw) as decoded, temp.open("wb") as out:
            copy(decoded, out)
        os.replace(temp, self.path)


class TextFilePlugin:
    """Registers the driver and records every event it sees."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    @hookimpl
    def dbsnap_register_drivers(self, register: Any) -> None:
        register("text", TextFileDriver)

    @hookimpl
    def dbsnap_snapshot_finished(self, snapshot: Any, store: str) -> None:
        self.events.append(("snapshot_finished", snapshot.name))

    @hookimpl
    def dbsnap_snapshot_failed(self, database: str, error: BaseException) -> None:
        self.events.append(("snapshot_failed", database))

    @hookimpl
    def dbsnap_restore_finished(self, snapshot: Any) -> None:
        self.events.append(("restore_finished", snapshot.name))

    @hookimpl
    def dbsnap_prune_finished(self, plan: Any, store: str) -> None:
        self.events.append(("prune_finished", store))
