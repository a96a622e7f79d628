"""Encryption with age (https://age-encryption.org): a codec stage the `age` tool reads without dbsnap.

The payload of an encrypted snapshot is a standard age file: `age -d -i KEY NAME | zstd -d` gives the
driver's dump. Encryption needs only the recipients' public keys (``age1...``, or SSH public keys);
decryption needs an identity (the private key) and happens only to restore or to check a payload's
content. pyrage (age in Rust) streams between file objects and releases the GIL while it works: it
runs in a thread of its own, fed through an OS pipe, so no dump is ever held in memory.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO, cast

from dbsnap.exceptions import ConfigError, DbsnapError, MissingExtraError
from dbsnap.streams import Sink, Source

EXTRA = "age encryption needs pyrage: pip install 'dbsnap[age]'"


class DecryptionError(DbsnapError):
    """The payload could not be decrypted: no identity given, none that matches, or damaged bytes."""


def _pyrage() -> Any:
    try:
        import pyrage
    except ImportError:
        raise MissingExtraError(EXTRA) from None
    return pyrage


def parse_recipients(items: Iterable[str]) -> list[str]:
    """Return the recipients given (``age1...`` keys and SSH public keys), each checked, comments dropped."""
    lines = [line for line in (raw.strip() for raw in items) if line and not line.startswith("#")]
    if not lines:
        return []  # no encryption asked for: pyrage (an extra) is not needed
    pyrage = _pyrage()
    found: list[str] = []
    for line in lines:
        try:
            if line.startswith("age1"):
                pyrage.x25519.Recipient.from_str(line)
            else:
                pyrage.ssh.Recipient.from_str(line)
        except Exception:  # noqa: BLE001 - pyrage raises its own RecipientError and ValueErrors
            raise ConfigError(
                f"{line[:40]!r} is not an age recipient: give an age public key (age1..., from age-keygen) "
                "or an SSH public key (ssh-ed25519 ... / ssh-rsa ...)"
            ) from None
        found.append(line)
    return found


def read_recipients_file(path: str) -> list[str]:
    """Return the recipients in a recipients file (one per line, ``#`` comments), as age -R reads it."""
    try:
        return parse_recipients(Path(path).read_text().splitlines())
    except OSError as exc:
        raise ConfigError(f"cannot read the age recipients file {path}: {exc.strerror}") from None


def read_identities(path: str) -> list[Any]:
    """Return the identities in an identity file: age-keygen's output, or an SSH private key."""
    pyrage = _pyrage()
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the age identity file {path}: {exc.strerror}") from None
    text = data.decode("utf-8", "replace")
    keys = [line.strip() for line in text.splitlines() if line.strip().startswith("AGE-SECRET-KEY-")]
    try:
        if keys:
            return [pyrage.x25519.Identity.from_str(key) for key in keys]
        return [pyrage.ssh.Identity.from_buffer(data)]
    except Exception:  # noqa: BLE001 - pyrage raises IdentityError and ValueErrors
        raise ConfigError(
            f"{path} holds no age identity: give the file age-keygen wrote (AGE-SECRET-KEY-...) or an "
            "unencrypted SSH private key"
        ) from None


def _recipient(text: str) -> Any:
    pyrage = _pyrage()
    return (pyrage.x25519 if text.startswith("age1") else pyrage.ssh).Recipient.from_str(text)


class _Reader:
    """The read end of a pipe a thread fills; reading past the end raises the thread's error, if any."""

    def __init__(self, pipe: BinaryIO, worker: threading.Thread, errors: list[BaseException]) -> None:
        self.pipe = pipe
        self.worker = worker
        self.errors = errors

    def read(self, size: int = -1, /) -> bytes:
        data = self.pipe.read(size)
        if not data:
            self.worker.join()
            if self.errors:
                raise _translate(self.errors[0])
        return data


def _translate(exc: BaseException) -> BaseException:
    if type(exc).__name__ == "DecryptError":
        return DecryptionError(f"age could not decrypt the payload: {exc}")
    # age's stream reader fails a chunk whose authentication tag does not match as an io error of its
    # own (no errno), which pyrage raises as OSError("decryption error").
    if isinstance(exc, OSError) and exc.errno is None and "decryption" in str(exc):
        return DecryptionError(
            "the encrypted payload is damaged: age's authentication failed (truncated or altered bytes)"
        )
    return exc


class AgeCodec:
    """The age stage: encrypts to `recipients`, decrypts with `identities`."""

    name = "age"
    extension = ".age"

    def __init__(self, recipients: Sequence[str] = (), identities: Sequence[Any] = ()) -> None:
        """Encrypt to `recipients` (public keys); decrypt with `identities` (from read_identities)."""
        self.recipients = list(recipients)
        self.identities = list(identities)

    @contextlib.contextmanager
    def encoder(self, sink: Sink) -> Iterator[Sink]:
        """Yield a sink whose bytes reach `sink` encrypted to the recipients."""
        if not self.recipients:
            raise ConfigError(
                "encryption needs at least one recipient (--encrypt-to or DBSNAP_AGE_RECIPIENTS)"
            )
        pyrage = _pyrage()
        recipients = [_recipient(r) for r in self.recipients]
        read_fd, write_fd = os.pipe()
        reader, writer = os.fdopen(read_fd, "rb"), os.fdopen(write_fd, "wb")
        errors: list[BaseException] = []

        def encrypt() -> None:
            try:
                pyrage.encrypt_io(reader, sink, recipients)
            except BaseException as exc:  # noqa: BLE001 - raised in the writer's thread below
                errors.append(exc)
            finally:
                reader.close()

        worker = threading.Thread(target=encrypt, name="dbsnap-age", daemon=True)
        worker.start()
        try:
            yield cast(Sink, writer)
            writer.close()
        except BaseException:
            with contextlib.suppress(OSError):
                writer.close()
            raise
        finally:
            worker.join()
        if errors:
            raise errors[0]

    @contextlib.contextmanager
    def decoder(self, source: Source) -> Iterator[Source]:
        """Yield a source of the decrypted bytes of `source`; a wrong identity or damage raises on reading."""
        if not self.identities:
            raise DecryptionError(
                "the payload is encrypted with age and no identity was given: pass --identity FILE or set "
                "DBSNAP_AGE_IDENTITY_FILE"
            )
        pyrage = _pyrage()
        read_fd, write_fd = os.pipe()
        reader, writer = os.fdopen(read_fd, "rb"), os.fdopen(write_fd, "wb")
        errors: list[BaseException] = []

        def decrypt() -> None:
            try:
                pyrage.decrypt_io(source, writer, self.identities)
            except BrokenPipeError:
                pass  # the reader stopped early; that is its business
            except BaseException as exc:  # noqa: BLE001 - raised to the reader at the end of the data
                errors.append(exc)
            finally:
                with contextlib.suppress(OSError):
                    writer.close()

        worker = threading.Thread(target=decrypt, name="dbsnap-age-decrypt", daemon=True)
        worker.start()
        try:
            yield _Reader(reader, worker, errors)
        finally:
            reader.close()
            worker.join()


def decoding_codec(snapshot: Any, plugins: Any, identity_file: str | None, get_codec: Any) -> Any:
    """Return the codec that decodes `snapshot`'s payload, with the identities an encrypted one needs.

    Raises DecryptionError (naming its recipients) when it is encrypted and no identity is given.
    """
    if not snapshot.encrypted:
        return get_codec(snapshot.codec, plugins)
    if not identity_file:
        shown = ", ".join(_short(r) for r in snapshot.recipients)
        raise DecryptionError(
            f"snapshot {snapshot.name!r} is encrypted to {shown}; "
            "pass --identity FILE (or set DBSNAP_AGE_IDENTITY_FILE) with one of their private keys"
        )
    return get_codec(snapshot.codec, plugins, identities=read_identities(identity_file))


def check_identity(snapshot: Any, payload: str, codec: Any, identity_file: str | None) -> None:
    """Decrypt the start of the payload, so a wrong identity is refused before the database is touched."""
    if not snapshot.encrypted:
        return
    try:
        with open(payload, "rb") as raw, codec.decoder(raw) as decoded:
            decoded.read(1)
    except DecryptionError:
        raise DecryptionError(
            f"the identity in {identity_file} cannot decrypt snapshot {snapshot.name!r}: it was encrypted to "
            f"{', '.join(_short(r) for r in snapshot.recipients)}; nothing was changed"
        ) from None


def _short(recipient: str) -> str:
    return recipient if len(recipient) <= 24 else f"{recipient[:20]}…"
