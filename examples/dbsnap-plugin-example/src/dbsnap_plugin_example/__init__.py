"""An example dbsnap driver plugin: JSON-lines files, restored only when every line parses."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from dbsnap import ConfigError, DriverError, VerificationError, hookimpl
from dbsnap.codecs import Codec
from dbsnap.streams import Sink, copy


class JsonLinesDriver:
    """A JSON-lines file as a database: ``jsonl:///relative.jsonl`` or ``jsonl:////absolute.jsonl``."""

    name = "jsonl"
    extension = ".jsonl"
    default_codec = "zstd"

    def __init__(self, url: str, **options: Any) -> None:
        """Use the file named by `url`."""
        if options:
            raise ConfigError("the jsonl driver takes no options")
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

    def dump(self, sink: Sink, *, codec: str = "zstd") -> dict[str, Any]:  # noqa: ARG002 - lines either way
        """Copy the file's bytes."""
        lines = 0
        with self.path.open("rb") as handle:
            for line in handle:
                sink.write(line)
                lines += 1
        return {"format": "jsonl", "lines": lines}

    def restore(self, payload: str, codec: Codec, **options: Any) -> None:
        """Decode to a temporary file beside the target, check every line, then rename over it."""
        if options:
            raise ConfigError(f"the jsonl driver takes no restore options ({', '.join(options)})")
        fd, temp = tempfile.mkstemp(dir=self.path.parent, prefix=".restoring-")
        try:
            with open(payload, "rb") as raw, codec.decoder(raw) as decoded, os.fdopen(fd, "wb") as out:
                copy(decoded, out)
            with open(temp, "rb") as check:
                for number, line in enumerate(check, 1):
                    try:
                        json.loads(line)
                    except ValueError:
                        raise VerificationError(f"line {number} of the snapshot is not JSON") from None
            os.replace(temp, self.path)
        finally:
            Path(temp).unlink(missing_ok=True)


@hookimpl
def dbsnap_register_drivers(register: Any) -> None:
    """Register the jsonl driver."""
    register("jsonl", JsonLinesDriver)
