"""SftpStore: snapshots on an SSH server through sshfs/asyncssh, host keys always checked."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, TypeVar
from urllib.parse import unquote, urlsplit

from dbsnap.config import parse_bool
from dbsnap.environ import environ
from dbsnap.exceptions import ConfigError, MissingExtraError, StoreError
from dbsnap.hookspecs import Register, hookimpl
from dbsnap.redact import redact_url, register_secret
from dbsnap.stores.sftpwriter import SftpWriter
from dbsnap.stores.store import Store

log = logging.getLogger("dbsnap")
T = TypeVar("T")
FILE_MODE = 0o600
DIR_MODE = 0o700
RETRIES = 3
# asyncssh encrypts in Python around OpenSSL: AES-GCM is the fastest there (about 25% over ChaCha20).
CIPHERS = [
    "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com",
    "chacha20-poly1305@openssh.com",
    "aes128-ctr",
    "aes192-ctr",
    "aes256-ctr",
]
INSECURE = "DBSNAP_SFTP_INSECURE_NO_HOST_KEY_CHECK"


def _modules() -> tuple[Any, Any, Any]:
    try:
        import asyncssh
        import sshfs
        from fsspec.asyn import sync
    except ImportError:
        raise MissingExtraError("sftp:// stores need sshfs: pip install 'dbsnap[sftp]'") from None
    return asyncssh, sshfs, sync


def _env(*names: str) -> str | None:
    current = environ()
    for name in names:
        value = current.get(name, "").strip()
        if value:
            return value
    return None


def _translate(exc: BaseException, where: str, host: str, port: int, known_hosts: str | None) -> StoreError:
    asyncssh, _, _ = _modules()
    if isinstance(exc, asyncssh.HostKeyNotVerifiable):
        return StoreError(
            f"the host key of {host}:{port} is not in {known_hosts} (or it changed), so {where} was refused; "
            f"check the key and add it: ssh-keyscan -p {port} {host} >> {known_hosts}"
        )
    if isinstance(exc, asyncssh.PermissionDenied) or (
        isinstance(exc, PermissionError) and "permission denied for user" in str(exc).lower()
    ):
        return StoreError(f"authentication failed for {where}: check the user, key file or password")
    if isinstance(exc, ConnectionRefusedError | TimeoutError | socket.gaierror):
        return StoreError(f"cannot connect to {where}: {exc}; is the server up and the port right?")
    if isinstance(exc, asyncssh.DisconnectError | asyncssh.ConnectionLost | ConnectionError):
        return StoreError(f"the connection to {where} was lost: {exc}")
    if isinstance(exc, OSError):
        return StoreError(f"cannot connect to {where}: {exc.strerror or exc}")
    return StoreError(f"SFTP error on {where}: {exc}")


class SftpStore(Store):
    """A folder on an SFTP server (``sftp://user@host:port/path``, also ``ssh://``)."""

    @classmethod
    def from_url(cls, url: str, **options: Any) -> SftpStore:
        """Connect to the server named by `url`; options override the environment."""
        return cls(url, **options)

    def __init__(
        self,
        url: str,
        *,
        password: str | None = None,
        key_file: str | None = None,
        passphrase: str | None = None,
        known_hosts: str | None = None,
        insecure_no_host_key_check: bool | None = None,
        retries: int | None = None,
        timeout: float = 30.0,
    ) -> None:
        """Parse `url` and connect; passwords come from the URL, the argument or DBSNAP_SFTP_PASSWORD."""
        parts = urlsplit(url)
        if parts.scheme not in ("sftp", "ssh") or not parts.hostname:
            raise ConfigError(f"{redact_url(url)} is not an sftp://user@host[:port]/path URL")
        self.host = parts.hostname
        try:
            self.port = parts.port or 22
        except ValueError:
            raise ConfigError(f"{redact_url(url)} has an invalid port") from None
        self.user = unquote(parts.username) if parts.username else None
        secret = password or (unquote(parts.password) if parts.password else None)
        secret = secret or _env("DBSNAP_SFTP_PASSWORD", "BACKUP_SFTP_PASSWORD")
        register_secret(secret)
        self._password = secret
        self._key_file = key_file or _env("DBSNAP_SFTP_KEY_FILE")
        self._passphrase = passphrase or _env("DBSNAP_SFTP_KEY_PASSPHRASE")
        register_secret(self._passphrase)
        insecure = insecure_no_host_key_check
        if insecure is None:
            insecure = parse_bool(INSECURE, environ().get(INSECURE, ""))
        self._known_hosts: str | None = None
        if insecure:
            log.warning(
                "dbsnap: WARNING: host key checking is OFF for %s (%s); anyone on the network path can "
                "impersonate the server and receive your backups",
                self.host,
                INSECURE,
            )
        else:
            chosen = known_hosts or _env("DBSNAP_SFTP_KNOWN_HOSTS") or "~/.ssh/known_hosts"
            self._known_hosts = os.path.expanduser(chosen)
            if not Path(self._known_hosts).is_file():
                raise StoreError(
                    f"known_hosts file {self._known_hosts} does not exist, so the server cannot be checked; "
                    f"add its key: ssh-keyscan -p {self.port} {self.host} >> {self._known_hosts}"
                )
        if retries is None:
            raw = _env("DBSNAP_SFTP_RETRIES")
            if raw is not None and not raw.isdigit():
                raise ConfigError(f"DBSNAP_SFTP_RETRIES={raw!r} is not a whole number")
            retries = int(raw) if raw is not None else RETRIES
        self.retries = retries
        self._timeout = timeout
        shown = f"sftp://{self.user + '@' if self.user else ''}{self.host}:{self.port}{parts.path or '/'}"
        self._sftp: Any = None
        root = parts.path or "/~"
        # sftp://host/~/dir is relative to the login's home folder.
        root = root[3:] or "." if root.startswith("/~/") or root == "/~" else root
        super().__init__(self._connect(), root, shown)

    def _connect(self) -> Any:
        _, sshfs, _ = _modules()
        options: dict[str, Any] = {
            "port": self.port,
            "known_hosts": self._known_hosts,
            "skip_instance_cache": True,
            "connect_timeout": self._timeout,
            "encryption_algs": CIPHERS,
        }
        if self.user:
            options["username"] = self.user
        if self._password:
            options["password"] = self._password
        if self._key_file:
            options["client_keys"] = [self._key_file]
        if self._passphrase:
            options["passphrase"] = self._passphrase
        where = f"sftp://{self.host}:{self.port}"
        try:
            return sshfs.SSHFileSystem(self.host, **options)
        except Exception as exc:  # noqa: BLE001 - translated at the boundary into StoreError
            raise _translate(exc, where, self.host, self.port, self._known_hosts) from None

    def reconnect(self) -> None:
        """Drop the connection and open a new one (after a transient failure)."""
        self._sftp = None
        self.fs = self._connect()

    def transient(self, exc: BaseException) -> bool:
        """Tell whether `exc` is a lost connection worth retrying."""
        asyncssh, _, _ = _modules()
        return isinstance(
            exc, asyncssh.ConnectionLost | asyncssh.DisconnectError | ConnectionError | BrokenPipeError
        )

    def retrying(self, action: Callable[[], T], what: str) -> T:
        """Run `action`; after a lost connection, reconnect and run it again (up to `retries` times)."""
        for attempt in range(self.retries + 1):
            try:
                return action()
            except Exception as exc:
                if attempt == self.retries or not self.transient(exc):
                    raise
                delay = 2**attempt
                log.warning(
                    "Database backup: %s on %s interrupted (%s); retrying in %ds", what, self.url, exc, delay
                )
                time.sleep(delay)
                with contextlib.suppress(Exception):
                    self.reconnect()
        raise AssertionError("unreachable")

    def run(self, coroutine: Any) -> Any:
        """Run an asyncssh coroutine on sshfs's event loop."""
        _, _, sync = _modules()
        return sync(self.fs.loop, lambda: coroutine)

    def sftp(self) -> Any:
        """Return this store's own asyncssh SFTP client (opened on first use)."""
        if self._sftp is None:
            self._sftp = self.run(self.fs.client.start_sftp_client())
        return self._sftp

    def file_attrs(self) -> Any:
        """SFTP attributes that create files 0600."""
        asyncssh, _, _ = _modules()
        return asyncssh.SFTPAttrs(permissions=FILE_MODE)

    def ensure_root(self) -> None:
        """Create the remote folder (0700) if it is missing."""
        asyncssh, _, _ = _modules()
        try:
            self.run(
                self.sftp().makedirs(self.root, attrs=asyncssh.SFTPAttrs(permissions=DIR_MODE), exist_ok=True)
            )
        except Exception as exc:  # noqa: BLE001 - translated at the boundary
            raise _translate(exc, self.url, self.host, self.port, self._known_hosts) from None

    def create(self, name: str) -> IO[bytes]:
        """Create the remote file exclusively, mode 0600."""
        asyncssh, _, _ = _modules()
        try:
            return SftpWriter(self, self.path(name))  # type: ignore[return-value]
        except asyncssh.SFTPError as exc:
            # OpenSSH answers an exclusive create of an existing file with a generic failure.
            if "exist" in str(exc).lower() or self.fs.exists(self.path(name)):
                raise FileExistsError(self.path(name)) from None
            raise _translate(exc, self.url, self.host, self.port, self._known_hosts) from None

    def finish(self, handle: IO[bytes]) -> None:
        """fsync (fsync@openssh.com) and close, then check the remote size."""
        handle.close()

    def remove(self, name: str) -> None:
        """Delete object `name`, reconnecting after a lost connection; a missing object is fine."""
        self.retrying(lambda: Store.remove(self, name), f"removing {name}")

    def entries(self) -> dict[str, dict[str, Any]]:
        """List the folder, reconnecting after a lost connection."""
        return self.retrying(lambda: Store.entries(self), "listing")

    def read_many(self, names: list[str]) -> dict[str, bytes | Exception]:
        """Read small objects concurrently; retried as a whole after a lost connection."""

        def read() -> dict[str, bytes | Exception]:
            found = Store.read_many(self, names)
            lost = [e for e in found.values() if isinstance(e, Exception) and self.transient(e)]
            if lost:
                raise lost[0]
            return found

        return self.retrying(read, "reading manifests")

    def rename_noreplace(self, src: str, dst: str) -> None:
        """SFTP's standard rename, which OpenSSH refuses when the target exists (link + unlink)."""
        asyncssh, _, _ = _modules()
        interrupted = False

        def rename() -> None:
            nonlocal interrupted
            try:
                self.run(self.sftp().rename(self.path(src), self.path(dst)))
            except Exception as exc:
                interrupted = interrupted or self.transient(exc)
                raise

        try:
            self.retrying(rename, f"renaming {src}")
        except asyncssh.SFTPNoSuchFile:
            # A rename whose reply was lost with the connection may have been done already.
            if interrupted and self.fs.exists(self.path(dst)):
                return
            raise FileNotFoundError(self.path(src)) from None
        except asyncssh.SFTPError as exc:
            if self.fs.exists(self.path(dst)):
                raise FileExistsError(self.path(dst)) from None
            raise StoreError(f"cannot rename {src} to {dst} on {self.url}: {exc}") from None


@hookimpl
def dbsnap_register_stores(register: Register) -> None:
    """Register the SFTP store for sftp:// and ssh:// URLs."""
    register("sftp", SftpStore.from_url)
    register("ssh", SftpStore.from_url)
