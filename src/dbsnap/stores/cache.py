"""A local cache of remote manifests, so that listing a remote store reads only what changed.

A manifest is never rewritten: it is created once and deleted by prune. So a copy fetched earlier
is still the manifest as long as the listing shows the same object (same version, size and time);
a changed or recreated one has another key and is fetched again. Cached bytes are checked like
fetched ones (every manifest carries its own checksum). The cache lives in DBSNAP_CACHE_DIR, or
$XDG_CACHE_HOME/dbsnap, or ~/.cache/dbsnap (folders 0700, files 0600); deleting it is always safe.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

from dbsnap.entrypoints import cache_root
from dbsnap.stores.media import ObjectInfo


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


class ManifestCache:
    """The cached manifests of one store."""

    def __init__(self, store_key: str) -> None:
        """Use the cache folder of the store whose canonical key is `store_key`."""
        self.folder = cache_root() / "manifests" / _digest(store_key)[:32]

    @staticmethod
    def _tag(info: ObjectInfo) -> str | None:
        if info.version is None and info.mtime is None:
            return None
        return _digest(f"{info.version}|{info.size}|{info.mtime}")[:16]

    def _path(self, info: ObjectInfo) -> Path | None:
        tag = self._tag(info)
        return None if tag is None else self.folder / f"{_digest(info.name)[:40]}.{tag}"

    def get(self, info: ObjectInfo) -> bytes | None:
        """Return the cached copy of this very object, or None."""
        path = self._path(info)
        if path is None:
            return None
        try:
            data = path.read_bytes()
        except OSError:
            return None
        return data if info.size is None or len(data) == info.size else None

    def put(self, info: ObjectInfo, data: bytes) -> None:
        """Keep a copy of the object just read (a cache that cannot be written is simply not used)."""
        path = self._path(info)
        if path is None:
            return
        with contextlib.suppress(OSError):
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            temp = path.with_suffix(path.suffix + f".{os.getpid()}.tmp")
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(temp, path)

    def retain(self, current: list[ObjectInfo]) -> None:
        """Forget every cached object that is not in the current listing (deleted, or changed)."""
        keep = {path.name for path in (self._path(info) for info in current) if path is not None}
        with contextlib.suppress(OSError):
            for entry in os.scandir(self.folder):
                if entry.name not in keep:
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)
