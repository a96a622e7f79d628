"""Any fsspec protocol, for experiments only: check-then-act renames, the backend's own permissions.

Used only with DBSNAP_UNVETTED_FSSPEC_STORES=true. Nothing here is atomic or private: a rename
checks that the target is free and then moves (another writer can slip in between), files get
the backend's default permissions, and a chained URL inherits whatever each layer does (no host-key
check through simplecache::sftp://, for one). The guarantees in docs/guarantees.md do not hold.
"""

from __future__ import annotations

import contextlib
import logging
from typing import IO, Any

from dbsnap.exceptions import MissingExtraError, StoreError
from dbsnap.redact import redact_url
from dbsnap.stores.media import SMALL_LIMIT, Medium, ObjectInfo, ObjectTooLarge, Writer

log = logging.getLogger("dbsnap")


class _FileWriter(Writer):
    def __init__(self, medium: UnvettedMedium, name: str) -> None:
        self.medium = medium
        self.name = name
        self.handle = medium.fs.open(medium.path(name), "wb")

    def write(self, data: bytes, /) -> int:
        return int(self.handle.write(data))

    def close(self) -> None:
        self.handle.close()

    def abort(self) -> None:
        self.handle.close()
        self.medium.delete(self.name)


class UnvettedMedium(Medium):
    """A folder on any fsspec filesystem, without dbsnap's guarantees."""

    commit = "rename"

    def __init__(self, fs: Any, root: str, url: str) -> None:
        """Use folder `root` of the fsspec filesystem `fs`."""
        self.fs = fs
        self.root = root.rstrip("/") or "/"
        self.url = redact_url(url)
        self.key = f"unvetted:{self.url}"
        log.warning(
            "dbsnap: WARNING: %s is used without dbsnap's guarantees (unvetted fsspec protocol)", self.url
        )

    @classmethod
    def from_url(cls, url: str, **options: Any) -> UnvettedMedium:
        """Open any fsspec URL."""
        import fsspec

        try:
            fs, root = fsspec.core.url_to_fs(url, **options)
        except ImportError as exc:
            raise MissingExtraError(f"the store {redact_url(url)} needs a package: {exc}") from None
        except (OSError, ValueError) as exc:
            raise StoreError(f"cannot open store {redact_url(url)}: {exc}") from None
        return cls(fs, root, url)

    def path(self, name: str) -> str:
        """Return the full path of object `name`."""
        return f"{self.root}/{name}" if self.root != "/" else f"/{name}"

    def exists(self) -> bool:
        """Tell whether the folder exists."""
        return bool(self.fs.isdir(self.root))

    def make(self, *, parents: bool) -> None:  # noqa: ARG002 - fsspec cannot tell the two apart
        """Create the folder."""
        self.fs.makedirs(self.root, exist_ok=True)

    def scan(self) -> dict[str, ObjectInfo]:
        """List the folder."""
        try:
            listing = self.fs.ls(self.root, detail=True)
        except FileNotFoundError:
            return {}
        found = {}
        for entry in listing:
            name = entry["name"].rstrip("/").rsplit("/", 1)[-1]
            regular = entry.get("type") == "file"
            found[name] = ObjectInfo(name, entry.get("size") if regular else None, None, regular)
        return found

    def create(self, name: str) -> Writer:
        """Create a file after checking the name is free (not atomic)."""
        if self.fs.exists(self.path(name)):
            raise FileExistsError(self.path(name))
        return _FileWriter(self, name)

    def read(self, name: str, limit: int = SMALL_LIMIT) -> bytes:
        """Read a small file."""
        data: bytes = self.fs.cat_file(self.path(name), start=0, end=limit + 1)
        if len(data) > limit:
            raise ObjectTooLarge(f"{name} in {self.url} is larger than {limit} bytes")
        return data

    def open(self, name: str) -> IO[bytes]:
        """Open a file for reading."""
        return self.fs.open(self.path(name), "rb")  # type: ignore[no-any-return]

    def delete(self, name: str) -> None:
        """Delete a file; a missing one is fine."""
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(self.path(name))

    def rename(self, src: str, dst: str) -> None:
        """Check the target is free, then move (not atomic)."""
        if self.fs.exists(self.path(dst)):
            raise FileExistsError(self.path(dst))
        self.fs.mv(self.path(src), self.path(dst))

    def touch(self, name: str) -> None:
        """Refresh a file's time."""
        self.fs.touch(self.path(name), truncate=False)
