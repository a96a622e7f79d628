"""LocalStore: a folder on this machine; files 0600, folders 0700, fsync before every rename."""

from __future__ import annotations

import contextlib
import errno
import os
from typing import IO, Any

from fsspec.implementations.local import LocalFileSystem

from dbsnap.exceptions import ConfigError, StoreError
from dbsnap.hookspecs import Register, hookimpl
from dbsnap.stores.store import Store

FILE_MODE = 0o600
DIR_MODE = 0o700


class LocalStore(Store):
    """A store in a local folder (``./backups``, ``/abs/path``, ``file:///abs/path``)."""

    @classmethod
    def from_url(cls, url: str, **options: Any) -> LocalStore:
        """Open the local folder named by a path or a file:// URL."""
        if options:
            raise ConfigError(f"local stores take no options (got {', '.join(sorted(options))})")
        path = url
        if path.startswith("file://"):
            path = path[len("file://") :]
            if path and not path.startswith("/"):
                raise ConfigError(
                    f"file URL {url!r} has a host part; use file:///absolute/path or a plain path"
                )
        if path.startswith("local://"):
            path = path[len("local://") :]
        if not path:
            raise ConfigError("the store path is empty; give a folder such as ./backups")
        root = os.path.abspath(os.path.expanduser(path))
        return cls(LocalFileSystem(), root, root)

    def local_path(self, name: str) -> str:
        """Return the file's path on this machine."""
        return self.path(name)

    def ensure_root(self) -> None:
        """Create the folder (and missing parents) with mode 0700."""
        if os.path.isdir(self.root):
            return
        try:
            os.makedirs(self.root, mode=DIR_MODE, exist_ok=True)
            os.chmod(self.root, DIR_MODE)
        except OSError as exc:
            raise StoreError(f"cannot create the store folder {self.root}: {exc.strerror}") from None

    def create(self, name: str) -> IO[bytes]:
        """Create the file exclusively with mode 0600 (never through a umask-wide window)."""
        fd = os.open(self.path(name), os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
        return os.fdopen(fd, "wb", buffering=0)

    def finish(self, handle: IO[bytes]) -> None:
        """Flush the file to disk, then close it."""
        try:
            handle.flush()
            os.fsync(handle.fileno())
        finally:
            handle.close()

    def rename_noreplace(self, src: str, dst: str) -> None:
        """Link `dst` to `src` (fails if `dst` exists), then drop `src`: a rename that never overwrites."""
        try:
            os.link(self.path(src), self.path(dst))
        except OSError as exc:
            if exc.errno == errno.EEXIST:
                raise FileExistsError(self.path(dst)) from None
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV, errno.EMLINK):
                raise
            # Filesystems without hard links: check, then rename (a small race, documented).
            if os.path.lexists(self.path(dst)):
                raise FileExistsError(self.path(dst)) from None
            os.rename(self.path(src), self.path(dst))
            return
        os.unlink(self.path(src))

    def sync_dir(self) -> None:
        """fsync the folder so the renames survive a power cut."""
        with contextlib.suppress(OSError):
            fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


@hookimpl
def dbsnap_register_stores(register: Register) -> None:
    """Register the local-folder store."""
    register("file", LocalStore.from_url)
    register("local", LocalStore.from_url)
