"""An SFTP connection through sshfs/asyncssh: host keys always checked, errors translated in one place."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from dbsnap.config import parse_bool
from dbsnap.environ import environ
from dbsnap.exceptions import ConfigError, MissingExtraError, StoreError
from dbsnap.redact import redact_url, register_secret

log = logging.getLogger("dbsnap")
T = TypeVar("T")
RETRIES = 3
DEFAULT_TIMEOUT = 30.0
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
EXTRA = "sftp:// stores need sshfs: pip install 'dbsnap[sftp]'"


def modules() -> tuple[Any, Any, Any]:
    """Return (asyncssh, sshfs, fsspec's sync), or raise MissingExtraError naming the extra."""
    try:
        import asyncssh
        import sshfs
        from fsspec.asyn import sync
    except ImportError:
        raise MissingExtraError(EXTRA) from None
    return asyncssh, sshfs, sync


def _env(*names: str) -> str | None:
    current = environ()
    for name in names:
        value = current.get(name, "").strip()
        if value:
            return value
    return None


class SftpConnection:
    """One connection to an SFTP server, reconnected after a lost connection."""

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
        timeout: float | None = None,
    ) -> None:
        """Parse `url`; passwords come from the URL, the argument or DBSNAP_SFTP_PASSWORD."""
        modules()  # a missing extra is named before anything else is checked
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
        self.known_hosts = self._known_hosts(known_hosts, insecure_no_host_key_check)
        if retries is None:
            raw = _env("DBSNAP_SFTP_RETRIES")
            if raw is not None and not raw.isdigit():
                raise ConfigError(f"DBSNAP_SFTP_RETRIES={raw!r} is not a whole number")
            retries = int(raw) if raw is not None else RETRIES
        self.retries = retries
        self.timeout = DEFAULT_TIMEOUT if timeout is None else timeout
        # The path is percent-decoded: a folder named "a#b" is written sftp://host/a%23b.
        path = unquote(parts.path) or "/~"
        # sftp://host/~/dir is relative to the login's home folder.
        self.root = (path[3:] or ".") if path.startswith("/~/") or path == "/~" else path.rstrip("/") or "/"
        self.url = f"sftp://{self.user + '@' if self.user else ''}{self.host}:{self.port}{parts.path or '/'}"
        self.where = f"sftp://{self.host}:{self.port}"
        self._fs: Any = None
        self._sftp: Any = None

    def _known_hosts(self, given: str | None, insecure: bool | None) -> str | None:
        if insecure is None:
            insecure = parse_bool(INSECURE, environ().get(INSECURE, ""))
        if insecure:
            log.warning(
                "dbsnap: WARNING: host key checking is OFF for %s (%s); anyone on the network path can "
                "impersonate the server and receive your backups",
                self.host,
                INSECURE,
            )
            return None
        chosen = os.path.expanduser(given or _env("DBSNAP_SFTP_KNOWN_HOSTS") or "~/.ssh/known_hosts")
        if not Path(chosen).is_file():
            raise StoreError(
                f"known_hosts file {chosen} does not exist, so the server cannot be checked; "
                f"add its key: ssh-keyscan -p {self.port} {self.host} >> {chosen}"
            )
        return chosen

    @property
    def fs(self) -> Any:
        """The sshfs filesystem, connected on first use."""
        if self._fs is None:
            self._fs = self._connect()
        return self._fs

    def _connect(self) -> Any:
        _, sshfs, _ = modules()
        options: dict[str, Any] = {
            "port": self.port,
            "known_hosts": self.known_hosts,
            "skip_instance_cache": True,
            "connect_timeout": self.timeout,
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
        try:
            return sshfs.SSHFileSystem(self.host, **options)
        except Exception as exc:  # noqa: BLE001 - translated at the boundary into StoreError
            raise self.translate(exc, self.where) from None

    def translate(self, exc: BaseException, where: str | None = None) -> StoreError:
        """Turn an asyncssh/OS error into a one-line StoreError that says what to do."""
        asyncssh, _, _ = modules()
        where = where or self.url
        if isinstance(exc, StoreError):
            return exc
        if isinstance(exc, asyncssh.HostKeyNotVerifiable):
            return StoreError(
                f"the host key of {self.host}:{self.port} is not in {self.known_hosts} (or it changed), so "
                f"{where} was refused; check the key and add it: "
                f"ssh-keyscan -p {self.port} {self.host} >> {self.known_hosts}"
            )
        if isinstance(exc, asyncssh.PermissionDenied) or (
            isinstance(exc, PermissionError) and "permission denied for user" in str(exc).lower()
        ):
            return StoreError(f"authentication failed for {where}: check the user, key file or password")
        if isinstance(exc, ConnectionRefusedError | TimeoutError | socket.gaierror):
            why = "connection refused" if isinstance(exc, ConnectionRefusedError) else str(exc) or "timed out"
            return StoreError(f"cannot connect to {where}: {why}; is the server up and the port right?")
        if isinstance(exc, asyncssh.DisconnectError | asyncssh.ConnectionLost | ConnectionError):
            return StoreError(f"the connection to {where} was lost: {exc}")
        if isinstance(exc, asyncssh.SFTPFailure) and "quota" in str(exc).lower():
            return StoreError(f"{where} is full ({exc}); free space there or use another store")
        if isinstance(exc, OSError):
            return StoreError(f"SFTP error on {where}: {exc.strerror or exc}")
        return StoreError(f"SFTP error on {where}: {exc}")

    def transient(self, exc: BaseException) -> bool:
        """Tell whether `exc` is a lost connection worth retrying."""
        asyncssh, _, _ = modules()
        return isinstance(
            exc, asyncssh.ConnectionLost | asyncssh.DisconnectError | ConnectionError | BrokenPipeError
        )

    def reconnect(self) -> None:
        """Drop the connection and open a new one (after a transient failure)."""
        self.close()
        self._fs = self._connect()

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
        _, _, sync = modules()
        return sync(self.fs.loop, lambda: coroutine)

    def sftp(self) -> Any:
        """Return this connection's own asyncssh SFTP client (opened on first use)."""
        if self._sftp is None:
            self._sftp = self.run(self.fs.client.start_sftp_client())
        return self._sftp

    def close(self) -> None:
        """Close the SSH connection (best effort); a hung server cannot keep it open."""
        fs, self._fs, self._sftp = self._fs, None, None
        if fs is not None:
            with contextlib.suppress(Exception):
                fs.client.abort()
