"""An example dbsnap driver plugin: JSON-lines files, restored only when every line parses."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from dbsnap.contract import (
    VERIFY_RESTORE,
    Codec,
    ConfigError,
    DriverError,
    Sink,
    VerificationError,
    copy,
    decoded_copy,
)


class JsonLinesDriver:
    """A JSON-lines file as a database: ``jsonl:///relative.jsonl`` or ``jsonl:////absolute.jsonl``."""

    name = "jsonl"
    extension = ".jsonl"
    default_codec = "zstd"
    capabilities = frozenset({VERIFY_RESTORE})
    options = ()

    def __init__(self, url: str, *, codec: str | None = None) -> None:  # noqa: ARG002 - lines either way
        """Use the file named by `url`."""
        if not url.startswith("jsonl:///"):
            raise ConfigError(f"{url!r} is not a jsonl:/// URL")
        self.url = url
        self.path = Path(url[len("jsonl:///") :])

    def label(self) -> str:
        """The file's stem."""
        return self.path.stem

    def preflight(self) -> None:
        """The file must exist."""
        if not self.path.is_file():
            raise DriverError(f"{self.path} does not exist")

    def dump(self, sink: Sink) -> dict[str, Any]:
        """Copy the file's bytes."""
        lines = 0
        with self.path.open("rb") as handle:
            for line in handle:
                sink.write(line)
                lines += 1
        return {"format": "jsonl", "lines": lines}

    def restore(self, payload: str, codec: Codec) -> None:
        """Decode to a temporary file beside the target, check every line, then rename over it."""
        fd, temp = tempfile.mkstemp(dir=self.path.parent, prefix=".restoring-")
        try:
            with open(payload, "rb") as raw, codec.decoder(raw) as decoded, os.fdopen(fd, "wb") as out:
                copy(decoded, out)
            _check_lines(temp)
            os.replace(temp, self.path)
        finally:
            Path(temp).unlink(missing_ok=True)

    def verify_restore(self, payload: str, codec: Codec) -> dict[str, Any]:
        """Decode into a scratch file (swept after a crash) and check every line."""
        with decoded_copy(payload, codec, "jsonl", ".jsonl") as scratch:
            return {"lines": _check_lines(str(scratch.path))}


def _check_lines(path: str) -> int:
    """Count the lines of a file, raising VerificationError at the first that is not JSON."""
    count = 0
    with open(path, "rb") as check:
        for count, line in enumerate(check, 1):
            try:
                json.loads(line)
            except ValueError:
                raise VerificationError(f"line {count} of the snapshot is not JSON") from None
    return count
