"""A folder on an SFTP server: files 0600, folders 0700, renames that never replace, links never followed."""

from __future__ import annotations

import asyncio
import contextlib
import stat
from typing import IO, Any

from dbsnap.exceptions import StoreError, StoreMissing
from dbsnap.stores.media import SMALL_LIMIT, Medium, NotRegular, ObjectInfo, ObjectTooLarge, Writer
from dbsnap.stores.sftpconn import SftpConnection, modules
from dbsnap.stores.sftpwriter import SftpWriter

FILE_MODE = 0o600
DIR_MODE = 0o700

# Renames that failed generically while the target was absent, tried again before giving up.
RENAME_ATTEMPTS = 3


def _info(name: str, attrs: Any) -> ObjectInfo:
    regular = attrs.type == 1  # SSH_FILEXFER_TYPE_REGULAR; readdir and lstat never follow links
    if attrs.type is None and attrs.permissions is not None:
        regular = stat.S_ISREG(attrs.permissions)
    return ObjectInfo(name, attrs.size if regular else None, attrs.mtime, regular)


class SftpMedium(Medium):
    """A folder on an SFTP server (``sftp://user@host:port/path``, also ``ssh://``)."""

    commit = "rename"

    def __init__(self, conn: SftpConnection) -> None:
        """Use the folder of `conn`'s URL."""
        self.conn = conn
        self.url = conn.url
        root = conn.root
        self.key = f"sftp://{conn.user or ''}@{conn.host}:{conn.port}/{root.strip('/')}"

    @classmethod
    def from_url(cls, url: str, **options: Any) -> SftpMedium:
        """Open `url`; options (password, key_file, known_hosts, timeout...) override the environment."""
        return cls(SftpConnection(url, **options))

    def path(self, name: str) -> str:
        """Return the remote path of object `name`."""
        root = self.conn.root
        return f"{root}/{name}" if root != "/" else f"/{name}"

    def _call(self, what: str, method: str, *args: Any) -> Any:
        """Call an asyncssh SFTP client method, reconnecting after a lost connection."""
        try:
            return self.conn.retrying(lambda: self.conn.run(getattr(self.conn.sftp(), method)(*args)), what)
        except FileNotFoundError:
            raise
        except Exception as exc:  # noqa: BLE001 - translated at the boundary
            asyncssh, _, _ = modules()
            if isinstance(exc, asyncssh.SFTPNoSuchFile):
                raise FileNotFoundError(str(args[0] if args else what)) from None
            raise self.conn.translate(exc) from None

    def exists(self) -> bool:
        """Tell whether the remote folder exists."""
        try:
            return stat.S_ISDIR(self._call("checking the folder", "stat", self.conn.root).permissions or 0)
        except FileNotFoundError:
            return False

    def make(self, *, parents: bool) -> None:
        """Create the remote folder 0700 (and missing parents only when asked)."""
        asyncssh, _, _ = modules()
        attrs = asyncssh.SFTPAttrs(permissions=DIR_MODE)
        if parents:
            self._call("creating the folder", "makedirs", self.conn.root, attrs, True)
            return
        if self.exists():
            return
        try:
            self._call("creating the folder", "mkdir", self.conn.root, attrs)
        except FileNotFoundError:
            raise StoreMissing(
                f"the folder above {self.url} does not exist on the server; check the path for a typo, or "
                "create it first (dbsnap creates only the store's own folder, unless the URL says "
                "?create=parents)"
            ) from None
        except StoreError:
            if not self.exists():  # another run may have made it meanwhile
                raise

    def scan(self) -> dict[str, ObjectInfo]:
        """List the folder (lstat attributes: links are never followed)."""
        try:
            names = self._call("listing", "readdir", self.conn.root)
        except FileNotFoundError:
            return {}
        return {n.filename: _info(n.filename, n.attrs) for n in names if n.filename not in (".", "..")}

    def stat(self, name: str) -> ObjectInfo:
        """Describe one object without following a link."""
        return _info(name, self._call("checking", "lstat", self.path(name)))

    def create(self, name: str) -> Writer:
        """Create the remote file exclusively, mode 0600."""
        return SftpWriter(self.conn, self.path(name), FILE_MODE)

    async def _read_small(self, client: Any, name: str, limit: int) -> bytes:
        attrs = await client.lstat(self.path(name))
        if attrs.type != 1:
            raise NotRegular(f"{name} in {self.url} is not a plain file")
        if attrs.size is not None and attrs.size > limit:
            raise ObjectTooLarge(f"{name} in {self.url} has {attrs.size} bytes, more than {limit}")
        async with client.open(self.path(name), "rb") as handle:
            data: bytes = await handle.read(limit + 1)
        if len(data) > limit:
            raise ObjectTooLarge(f"{name} in {self.url} is larger than {limit} bytes")
        return data

    def read(self, name: str, limit: int = SMALL_LIMIT) -> bytes:
        """Read a small regular file whole."""
        found = self.read_many([name], limit)[name]
        if isinstance(found, Exception):
            raise found
        return found

    def read_many(self, names: list[str], limit: int = SMALL_LIMIT) -> dict[str, bytes | Exception]:
        """Read small objects concurrently; retried as a whole after a lost connection."""
        if not names:
            return {}
        asyncssh, _, _ = modules()

        async def gather(client: Any) -> list[Any]:
            return await asyncio.gather(
                *(self._read_small(client, n, limit) for n in names), return_exceptions=True
            )

        def read() -> dict[str, bytes | Exception]:
            results = self.conn.run(gather(self.conn.sftp()))
            lost = [e for e in results if isinstance(e, Exception) and self.conn.transient(e)]
            if lost:
                raise lost[0]
            found: dict[str, bytes | Exception] = {}
            for name, result in zip(names, results, strict=True):
                if isinstance(result, asyncssh.SFTPNoSuchFile):
                    result = FileNotFoundError(self.path(name))
                elif isinstance(result, Exception) and not isinstance(result, StoreError | OSError):
                    result = self.conn.translate(result)
                found[name] = result
            return found

        try:
            return self.conn.retrying(read, "reading manifests")
        except Exception as exc:  # noqa: BLE001 - translated at the boundary
            raise self.conn.translate(exc) from None

    def open(self, name: str) -> IO[bytes]:
        """Open a regular remote file for streaming reads."""
        if not self.stat(name).regular:
            raise NotRegular(f"{name} in {self.url} is not a plain file")
        return self.conn.fs.open(self.path(name), "rb")  # type: ignore[no-any-return]

    def delete(self, name: str) -> None:
        """Delete a remote file; a missing one is fine."""
        with contextlib.suppress(FileNotFoundError):
            self._call(f"removing {name}", "remove", self.path(name))

    def rename(self, src: str, dst: str) -> None:
        """SFTP's standard rename, which OpenSSH refuses when the target exists (link + unlink)."""
        asyncssh, _, _ = modules()
        interrupted = False

        def rename() -> None:
            nonlocal interrupted
            try:
                self.conn.run(self.conn.sftp().rename(self.path(src), self.path(dst)))
            except Exception as exc:
                interrupted = interrupted or self.conn.transient(exc)
                raise

        for attempt in range(RENAME_ATTEMPTS):
            try:
                self.conn.retrying(rename, f"renaming {src}")
                return
            except asyncssh.SFTPNoSuchFile:
                # A rename whose reply was lost with the connection may have been done already.
                if interrupted and self.conn.fs.exists(self.path(dst)):
                    return
                raise FileNotFoundError(self.path(src)) from None
            except asyncssh.SFTPError as exc:
                # OpenSSH answers "target exists" with a generic failure; if the target is gone again
                # by the time we look (a racing run removed it), the rename may succeed now.
                if self.conn.fs.exists(self.path(dst)):
                    raise FileExistsError(self.path(dst)) from None
                if attempt == RENAME_ATTEMPTS - 1 or not isinstance(exc, asyncssh.SFTPFailure):
                    raise StoreError(f"cannot rename {src} to {dst} on {self.url}: {exc}") from None
            except Exception as exc:  # noqa: BLE001 - translated at the boundary
                raise self.conn.translate(exc) from None

    def touch(self, name: str) -> None:
        """Set the remote file's modification time to now."""
        self._call("touching", "utime", self.path(name), None)

    def explain(self, exc: BaseException) -> BaseException:
        """Translate an asyncssh error into a StoreError that says what to do."""
        if isinstance(exc, StoreError) or not isinstance(exc, Exception):
            return exc
        if isinstance(exc, FileExistsError | FileNotFoundError):
            return exc
        return self.conn.translate(exc)

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()
