"""memory://NAME: a store in this process's memory, with S3's commit semantics, for fast unit tests.

Objects appear whole when written, a create fails if the name exists, and small objects can be
replaced conditionally on their version, as on S3. Folders of the same name share their objects
within one process. Nothing survives the process; never the only test of a feature.
"""

from __future__ import annotations

import hashlib
import io
import threading
import time
from typing import IO, Any

from dbsnap.exceptions import ConfigError
from dbsnap.stores.media import SMALL_LIMIT, Medium, ObjectInfo, ObjectTooLarge, VersionConflict, Writer

_FOLDERS: dict[str, dict[str, tuple[bytes, float]]] = {}
_LOCK = threading.Lock()


def _version(data: bytes, stamp: float) -> str:
    return hashlib.sha256(data + repr(stamp).encode()).hexdigest()[:16]


class _MemoryWriter(Writer):
    def __init__(self, medium: MemoryMedium, name: str) -> None:
        self.medium = medium
        self.name = name
        self.buffer = io.BytesIO()

    def write(self, data: bytes, /) -> int:
        return self.buffer.write(data)

    def close(self) -> None:
        with _LOCK:
            objects = self.medium._folder()
            if self.name in objects:
                raise FileExistsError(f"{self.medium.url}/{self.name}")
            objects[self.name] = (self.buffer.getvalue(), time.time())

    def abort(self) -> None:
        self.buffer = io.BytesIO()


class MemoryMedium(Medium):
    """A named folder of objects in memory."""

    commit = "create"

    def __init__(self, folder: str) -> None:
        """Use the in-memory folder `folder`."""
        self.folder = folder
        self.url = f"memory://{folder}"
        self.key = self.url

    @classmethod
    def from_url(cls, url: str, **options: Any) -> MemoryMedium:
        """Open memory://NAME."""
        if options:
            raise ConfigError(f"memory stores take no options (got {', '.join(sorted(options))})")
        folder = url.split("://", 1)[1].strip("/")
        return cls(folder or "default")

    def _folder(self) -> dict[str, tuple[bytes, float]]:
        """This folder's objects (the module lock must be held to change them)."""
        return _FOLDERS.setdefault(self.folder, {})

    def exists(self) -> bool:
        """Tell whether anything ever made the folder."""
        return self.folder in _FOLDERS

    def make(self, *, parents: bool) -> None:  # noqa: ARG002 - memory folders have no parents
        """Create the folder."""
        with _LOCK:
            self._folder()

    def scan(self) -> dict[str, ObjectInfo]:
        """List the folder's objects."""
        with _LOCK:
            items = dict(_FOLDERS.get(self.folder, {}))
        return {n: ObjectInfo(n, len(d), t, True, _version(d, t)) for n, (d, t) in items.items()}

    def create(self, name: str) -> Writer:
        """Start an object that appears whole on close(), unless the name was taken meanwhile."""
        with _LOCK:
            if name in self._folder():
                raise FileExistsError(f"{self.url}/{name}")
        return _MemoryWriter(self, name)

    def _get(self, name: str) -> tuple[bytes, float]:
        with _LOCK:
            found = _FOLDERS.get(self.folder, {}).get(name)
        if found is None:
            raise FileNotFoundError(f"{self.url}/{name}")
        return found

    def read(self, name: str, limit: int = SMALL_LIMIT) -> bytes:
        """Return a small object whole."""
        data = self._get(name)[0]
        if len(data) > limit:
            raise ObjectTooLarge(f"{name} in {self.url} has {len(data)} bytes, more than {limit}")
        return data

    def open(self, name: str) -> IO[bytes]:
        """Open an object for reading."""
        return io.BytesIO(self._get(name)[0])

    def delete(self, name: str) -> None:
        """Forget an object."""
        with _LOCK:
            _FOLDERS.get(self.folder, {}).pop(name, None)

    def version(self, name: str) -> str | None:
        """Return the object's version."""
        try:
            data, stamp = self._get(name)
        except FileNotFoundError:
            return None
        return _version(data, stamp)

    def replace(self, name: str, data: bytes, version: str) -> str:
        """Replace the object if it is still at `version`."""
        with _LOCK:
            found = self._folder().get(name)
            if found is None or _version(*found) != version:
                raise VersionConflict(f"{name} in {self.url} changed since it was read")
            stamp = max(time.time(), found[1] + 1e-6)
            self._folder()[name] = (data, stamp)
        return _version(data, stamp)

    def touch(self, name: str) -> None:
        """Refresh the object's time."""
        with _LOCK:
            data, _ = self._folder()[name]
            self._folder()[name] = (data, time.time())
