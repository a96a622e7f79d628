"""Scratch files (SQLite copies, downloads, password files): locked while used, swept once their owner died.

A run killed with SIGKILL cannot remove its scratch files, and they can be as large as the database
(or hold a password). Each one is flock()ed by its process for as long as it exists, and every new
scratch file first sweeps the folder: a file whose lock can be taken has no living owner. The kernel
releases a dead process's locks, so this needs no clock and no process ids; the minute of grace only
covers the instant between creating a file and locking it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from dbsnap.exceptions import DbsnapError
from dbsnap.faults import checkpoint
from dbsnap.streams import CHUNK, copy

if TYPE_CHECKING:
    from dbsnap.codecs import Codec

log = logging.getLogger("dbsnap")
PREFIX = ".dbsnap-"
GRACE = 60.0


def scratch_folder() -> str:
    """Return DBSNAP_TMPDIR, or the system's temporary folder."""
    return os.environ.get("DBSNAP_TMPDIR") or tempfile.gettempdir()


def sweep(folder: str) -> int:
    """Remove scratch files in `folder` whose owner is gone; return how many were removed."""
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        if not entry.name.startswith(PREFIX):
            continue
        try:
            if not entry.is_file(follow_symlinks=False) or time.time() - entry.stat().st_mtime < GRACE:
                continue
            fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            continue  # gone already, or another user's
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.unlink(entry.path)
            removed += 1
        except OSError:
            continue  # its owner is alive (or it just went away)
        finally:
            os.close(fd)
    if removed:
        log.info("Database backup: removed %d scratch file(s) left in %s by killed runs", removed, folder)
    return removed


class Scratch:
    """One scratch file: its path, and the locked descriptor that keeps sweepers away."""

    def __init__(self, path: Path, fd: int) -> None:
        """Own the locked `fd` of the file at `path`."""
        self.path = path
        self._fd: int | None = fd

    def remove(self) -> None:
        """Delete the file and release its lock (its blocks are freed here); safe to call twice."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        os.close(fd)


@contextlib.contextmanager
def scratch_file(kind: str, suffix: str = "") -> Iterator[Scratch]:
    """Yield a new empty 0600 scratch file, locked until it is removed (at the latest on exit)."""
    folder = scratch_folder()
    sweep(folder)
    fd, name = tempfile.mkstemp(prefix=f"{PREFIX}{kind}-", suffix=suffix, dir=folder)
    scratch = Scratch(Path(name), fd)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        checkpoint("scratch-locked")
        yield scratch
    finally:
        scratch.remove()


@contextlib.contextmanager
def decoded_copy(payload: str, codec: Codec, kind: str, suffix: str = "") -> Iterator[Scratch]:
    """Yield a scratch file holding `payload` decoded by `codec`; a full disk is named with its fix."""
    with scratch_file(kind, suffix) as scratch:
        try:
            with open(payload, "rb") as raw, codec.decoder(raw) as decoded, scratch.path.open("wb") as out:
                copy(decoded, out, CHUNK)
        except OSError as exc:
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
            raise DbsnapError(
                f"no room to decode the snapshot in {scratch.path.parent} ({exc.strerror}); it needs the "
                "uncompressed size free: free space there or set DBSNAP_TMPDIR to a larger folder"
            ) from None
        yield scratch
