"""A folder on this machine: files 0600, folders 0700, fsync before renames, links and FIFOs never opened."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from typing import IO, Any

from dbsnap.exceptions import ConfigError, StoreError, StoreMissing
from dbsnap.stores.media import SMALL_LIMIT, Medium, NotRegular, ObjectInfo, ObjectTooLarge, Writer

FILE_MODE = 0o600
DIR_MODE = 0o700
# Never follow a link and never wait on a FIFO: a store's content is not trusted.
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


class _FileWriter(Writer):
    def __init__(self, path: str, handle: IO[bytes]) -> None:
        self.path = path
        self.handle = handle

    def write(self, data: bytes, /) -> int:
        return self.handle.write(data)

    def close(self) -> None:
        try:
            self.handle.flush()
            os.fsync(self.handle.fileno())
        finally:
            self.handle.close()

    def abort(self) -> None:
        with contextlib.suppress(OSError):
            self.handle.close()
        with contextlib.suppress(OSError):
            os.unlink(self.path)


class LocalMedium(Medium):
    """A local folder (``./backups``, ``/abs/path``, ``file:///abs/path``)."""

    commit = "rename"

    def __init__(self, root: str) -> None:
        """Use folder `root` (made absolute)."""
        self.root = os.path.abspath(os.path.expanduser(root))
        self.url = self.root
        self.key = f"file://{os.path.realpath(self.root)}"

    @classmethod
    def from_url(cls, url: str, **options: Any) -> LocalMedium:
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
        return cls(path)

    def path(self, name: str) -> str:
        """Return the full path of object `name`."""
        return os.path.join(self.root, name)

    def exists(self) -> bool:
        """Tell whether the folder exists."""
        return os.path.isdir(self.root)

    def make(self, *, parents: bool) -> None:
        """Create the folder 0700 (its missing parents too only when asked)."""
        if os.path.isdir(self.root):
            return
        try:
            if parents:
                os.makedirs(self.root, mode=DIR_MODE, exist_ok=True)
            else:
                os.mkdir(self.root, DIR_MODE)
            os.chmod(self.root, DIR_MODE)
        except FileNotFoundError:
            raise StoreMissing(
                f"the folder above {self.root} does not exist; check the store path for a typo, or create "
                "it first (dbsnap creates only the store's own folder, unless the URL says ?create=parents)"
            ) from None
        except FileExistsError:
            if not os.path.isdir(self.root):
                raise StoreError(f"{self.root} exists and is not a folder") from None
        except OSError as exc:
            raise StoreError(f"cannot create the store folder {self.root}: {exc.strerror}") from None

    def scan(self) -> dict[str, ObjectInfo]:
        """List the folder without following links."""
        try:
            entries = list(os.scandir(self.root))
        except (FileNotFoundError, NotADirectoryError):
            return {}
        found: dict[str, ObjectInfo] = {}
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            regular = stat.S_ISREG(info.st_mode)
            size = info.st_size if regular else None
            found[entry.name] = ObjectInfo(entry.name, size, info.st_mtime, regular)
        return found

    def stat(self, name: str) -> ObjectInfo:
        """Describe one file without following a link."""
        info = os.lstat(self.path(name))
        regular = stat.S_ISREG(info.st_mode)
        return ObjectInfo(name, info.st_size if regular else None, info.st_mtime, regular)

    def create(self, name: str) -> Writer:
        """Create the file exclusively with mode 0600 (never through a umask-wide window)."""
        path = self.path(name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW, FILE_MODE)
        return _FileWriter(path, os.fdopen(fd, "wb", buffering=0))

    def read(self, name: str, limit: int = SMALL_LIMIT) -> bytes:
        """Read a small regular file whole; never a link, a FIFO or more than `limit` bytes."""
        try:
            fd = os.open(self.path(name), _READ_FLAGS)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENXIO, errno.EISDIR):
                raise NotRegular(f"{name} in {self.url} is not a plain file") from None
            raise
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise NotRegular(f"{name} in {self.url} is not a plain file")
            if info.st_size > limit:
                raise ObjectTooLarge(f"{name} in {self.url} has {info.st_size} bytes, more than {limit}")
            data = os.read(fd, limit + 1)
            if len(data) > limit:
                raise ObjectTooLarge(f"{name} in {self.url} is larger than {limit} bytes")
            return data
        finally:
            os.close(fd)

    def open(self, name: str) -> IO[bytes]:
        """Open a regular file for reading (a link or FIFO is refused, not followed)."""
        fd = os.open(self.path(name), _READ_FLAGS)
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise NotRegular(f"{name} in {self.url} is not a plain file")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")

    def delete(self, name: str) -> None:
        """Unlink the file; a missing one is fine."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path(name))

    def rename(self, src: str, dst: str) -> None:
        """Link `dst` to `src` (fails if `dst` exists), then drop `src`: a rename that never overwrites."""
        try:
            os.link(self.path(src), self.path(dst), follow_symlinks=False)
        except OSError as exc:
            if exc.errno == errno.EEXIST:
                raise FileExistsError(self.path(dst)) from None
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV, errno.EMLINK):
                raise
            # Filesystems without hard links: check, then rename (a small race, documented).
            if os.path.lexists(self.path(dst)):
                raise FileExistsError(self.path(dst)) from None
            os.rename(self.path(src), self.path(dst))
        else:
            os.unlink(self.path(src))
        self._sync_dir()

    def touch(self, name: str) -> None:
        """Set the file's modification time to now."""
        os.utime(self.path(name), follow_symlinks=False)

    def _sync_dir(self) -> None:
        with contextlib.suppress(OSError):
            fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def local_path(self, name: str) -> str:
        """Return the file's path on this machine."""
        return self.path(name)

    def explain(self, exc: BaseException) -> BaseException:
        """Name a full disk, a permission problem or a read-only filesystem, with the fix."""
        if isinstance(exc, OSError) and not isinstance(exc, StoreError):
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                return StoreError(
                    f"the disk of {self.url} is full ({exc.strerror}); free space there or use another store"
                )
            if exc.errno in (errno.EACCES, errno.EPERM):
                return StoreError(
                    f"cannot write to {self.url}: permission denied; check the folder's owner and mode"
                )
            if exc.errno == errno.EROFS:
                return StoreError(f"{self.url} is on a read-only filesystem")
        return exc
