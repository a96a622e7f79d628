"""Locks held in the store itself: one per database label, kept alive by a heartbeat, taken over when dead.

On a rename medium (local, SFTP) the lock is a file published whole (temporary name, then a rename
that never replaces) and its heartbeat refreshes the file's modification time. On a create medium
(S3) it is a lease object created with If-None-Match; the heartbeat and a takeover replace it only
if it is still the version the writer read (If-Match), so two hosts racing to take over one stale
lease cannot both win. A lock is dead when its holder is a process of this host that no longer
exists, or when its heartbeat stopped for `stale_after` seconds; its token then marks every
temporary object of that run as debris for the sweep.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from dbsnap.environ import host_id
from dbsnap.exceptions import LockHeld, StoreError
from dbsnap.faults import checkpoint
from dbsnap.names import safe_label
from dbsnap.stores.media import Medium, ObjectInfo, VersionConflict
from dbsnap.stores.temps import temp_name

log = logging.getLogger("dbsnap")
__all__ = ["LockHeld", "acquire", "live_tokens", "lock_name", "store_lock", "sweep_locks"]
LOCK_SUFFIX = ".dbsnap-lock"
DEFAULT_WAIT = 300.0
DEFAULT_STALE = 600.0
UNREADABLE_GRACE = 60.0
TAKEOVER = ".takeover"


class LockWaitStopped(StoreError):
    """The run was told to stop while it waited for a lock; nothing was taken."""


TAKEOVER_STALE = 60.0


def lock_name(label: str) -> str:
    """Return the lock object's name for database `label` (hidden, never a snapshot name)."""
    return f".{safe_label(label)}{LOCK_SUFFIX}"


def is_lock(name: str) -> bool:
    """Tell whether an object name is a lock's."""
    return name.startswith(".") and name.endswith(LOCK_SUFFIX)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _parse(data: bytes) -> dict[str, Any] | None:
    try:
        record = json.loads(data)
    except (ValueError, RecursionError):
        return None
    return record if isinstance(record, dict) else None


def stale_reason(record: dict[str, Any] | None, info: ObjectInfo, stale_after: float) -> str | None:
    """Return why a lock is dead, or None if its holder may still be working."""
    age = time.time() - info.mtime if info.mtime is not None else 0.0
    if record is None:
        return "it is unreadable" if age > UNREADABLE_GRACE else None
    if record.get("released"):
        return "it was released"
    pid = record.get("pid")
    if record.get("host") == host_id() and isinstance(pid, int) and not _alive(pid):
        return f"process {pid} on this host is gone"
    if age > stale_after:
        return f"its heartbeat stopped {age:.0f}s ago"
    return None


def describe(record: dict[str, Any] | None) -> str:
    """Say who holds a lock."""
    if record is None:
        return "an unknown run"
    return f"pid {record.get('pid')} on {record.get('host')} since {record.get('started')}"


def _read(medium: Medium, name: str) -> tuple[dict[str, Any] | None, ObjectInfo]:
    """Return the lock's record (None if unreadable) and its listing; FileNotFoundError if absent."""
    info = medium.stat(name)
    try:
        data = medium.read(name)
    except FileNotFoundError:
        raise
    except (OSError, StoreError):
        return None, info
    return _parse(data), info


class HeldLock:
    """A lock this run holds, kept alive by a heartbeat thread until released."""

    def __init__(self, medium: Medium, label: str, token: str, stale_after: float) -> None:
        """Describe the lock `token` holds on database `label` in `medium` (not yet published)."""
        self.medium = medium
        self.label = label
        self.name = lock_name(label)
        self.token = token
        self.stale_after = stale_after
        self.record: dict[str, Any] = {
            "host": host_id(),
            "pid": os.getpid(),
            "started": datetime.now(UTC).isoformat(),
            "token": token,
        }
        self.version: str | None = None
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    def data(self, **extra: Any) -> bytes:
        """The lock's record as stored."""
        return json.dumps({**self.record, **extra}).encode()

    def publish(self) -> None:
        """Create the lock object (FileExistsError if another run holds it)."""
        if self.medium.commit == "create":
            self.medium.put(self.name, self.data())
            self.version = self.medium.version(self.name)
            return
        # Written whole under a temporary name, then renamed without replacing: never half a lock.
        temp = temp_name(self.name, self.token)
        self.medium.put(temp, self.data())
        try:
            self.medium.rename(temp, self.name)
        except BaseException:
            with contextlib.suppress(Exception):
                self.medium.delete(temp)
            raise

    def take_over(self, dead: dict[str, Any] | None, info: ObjectInfo) -> bool:
        """Replace the dead lock `dead` (as read, with its listing); return False if another run won.

        Create media replace it only if it is still the version read (If-Match). Rename media have no
        compare-and-swap, so the takers first race for a takeover mutex created exclusively; only its
        holder may delete the dead lock (if it is still the one read) and publish its own.
        """
        if self.medium.commit == "create" and info.version is not None:
            try:
                self.version = self.medium.replace(self.name, self.data(), info.version)
            except VersionConflict:
                return False
            return True
        mutex = self.name + TAKEOVER
        try:
            self.medium.put(mutex, self.data())
        except FileExistsError:
            with contextlib.suppress(FileNotFoundError):
                record, mutex_info = _read(self.medium, mutex)
                if stale_reason(record, mutex_info, TAKEOVER_STALE) is not None:
                    self.medium.delete(mutex)  # a taker that died half-way
            return False
        try:
            try:
                current, _ = _read(self.medium, self.name)
            except FileNotFoundError:
                current = None
            else:
                if (current or {}).get("token") != (dead or {}).get("token"):
                    return False  # it changed hands meanwhile
                self.medium.delete(self.name)
            try:
                self.publish()
            except FileExistsError:
                return False
            return True
        finally:
            self.medium.delete(mutex)

    def start_heartbeat(self) -> None:
        """Refresh the lock every tenth of `stale_after` while the run lasts."""
        self._beat = threading.Thread(target=self._heartbeat, name=f"dbsnap-lock-{self.label}", daemon=True)
        self._beat.start()

    def _heartbeat(self) -> None:
        interval = max(0.5, min(30.0, self.stale_after / 10))
        while not self._stop.wait(interval):
            try:
                if self.medium.commit == "create" and self.version is not None:
                    self.version = self.medium.replace(
                        self.name, self.data(heartbeat=datetime.now(UTC).isoformat()), self.version
                    )
                else:
                    record, _ = _read(self.medium, self.name)
                    if record is None or record.get("token") != self.token:
                        raise VersionConflict("the lock now belongs to another run")
                    self.medium.touch(self.name)
            except VersionConflict:
                log.error("Database backup: the lock of %s in %s was taken over", self.label, self.medium.url)
                self.lost.set()
                return
            except Exception as exc:  # noqa: BLE001 - a missed beat is retried; staleness takes minutes
                log.debug("Database backup: lock heartbeat in %s failed: %s", self.medium.url, exc)

    def release(self) -> None:
        """Stop the heartbeat and give the lock up, if it is still ours."""
        self._stop.set()
        if self._beat is not None:
            self._beat.join(timeout=5)
        if self.lost.is_set():
            return
        try:
            if self.medium.commit == "create" and self.version is not None:
                self.medium.replace(self.name, self.data(released=True), self.version)
                return
            record, _ = _read(self.medium, self.name)
            if record is not None and record.get("token") == self.token:
                self.medium.delete(self.name)
                return
        except FileNotFoundError:
            pass
        except Exception as exc:  # noqa: BLE001 - the next run takes over a lock whose holder is gone
            log.warning(
                "Database backup: could not release the lock of %s in %s (%s); the next run takes it over",
                self.label,
                self.medium.url,
                exc,
            )
            return
        log.warning(
            "Database backup: the lock of %s in %s was taken over while held", self.label, self.medium.url
        )


def acquire(
    medium: Medium,
    label: str,
    *,
    wait: float = DEFAULT_WAIT,
    stale_after: float = DEFAULT_STALE,
    token: str | None = None,
    progress: Callable[[], None] | None = None,
    stop: threading.Event | None = None,
) -> HeldLock:
    """Take the lock of database `label` in `medium`, waiting up to `wait` seconds for its holder.

    A dead lock (see `stale_reason`) is taken over with a warning. Raises LockHeld when time is up.
    `progress` is called after every answer from the medium, so a caller can tell waiting for
    another run (answers keep coming) from a medium that stalled (they do not). Setting `stop`
    (Ctrl-C, SIGTERM, the run giving up) ends the wait at once with LockWaitStopped.
    """
    held = HeldLock(medium, label, token or secrets.token_hex(6), stale_after)
    deadline = time.monotonic() + wait
    pause = 0.1
    medium.make(parents=medium.create_parents)
    while True:
        if progress is not None:
            progress()
        try:
            held.publish()
            break
        except FileExistsError:
            pass
        except FileNotFoundError:
            continue  # its temporary file was swept meanwhile: publish again
        except OSError as exc:
            raise StoreError(
                f"cannot create the lock {held.name} in {medium.url}: {medium.explain(exc)}"
            ) from None
        try:
            record, info = _read(medium, held.name)
        except FileNotFoundError:
            continue
        reason = stale_reason(record, info, stale_after)
        if reason is not None:
            log.warning(
                "Database backup: taking over the lock %s in %s held by %s: %s",
                held.name,
                medium.url,
                describe(record),
                reason,
            )
            if held.take_over(record, info):
                break
            continue
        if time.monotonic() >= deadline:
            raise LockHeld(
                f"another dbsnap run ({describe(record)}) holds the lock of database {label!r} in "
                f"{medium.url}; wait for it, or remove {held.name} there if that run is gone"
            )
        if stop is not None and stop.wait(pause):
            raise LockWaitStopped(f"the run stopped while waiting for the lock {held.name} in {medium.url}")
        if stop is None:
            time.sleep(pause)
        pause = min(pause * 2, 2.0)
    checkpoint("lock-taken")
    held.start_heartbeat()
    return held


@contextlib.contextmanager
def store_lock(
    medium: Medium,
    label: str,
    *,
    wait: float = DEFAULT_WAIT,
    stale_after: float = DEFAULT_STALE,
    token: str | None = None,
    progress: Callable[[], None] | None = None,
    stop: threading.Event | None = None,
) -> Iterator[HeldLock]:
    """Hold the lock of database `label` in `medium` while the block runs (see `acquire`)."""
    held = acquire(
        medium, label, wait=wait, stale_after=stale_after, token=token, progress=progress, stop=stop
    )
    try:
        yield held
    finally:
        held.release()


def live_tokens(medium: Medium, stale_after: float = DEFAULT_STALE) -> set[str]:
    """Return the tokens of every run whose lock in `medium` is alive."""
    tokens: set[str] = set()
    for name in [n for n in medium.scan() if is_lock(n)]:
        try:
            record, info = _read(medium, name)
        except FileNotFoundError:
            continue
        if record is not None and stale_reason(record, info, stale_after) is None:
            tokens.add(str(record.get("token")))
    return tokens


def sweep_locks(medium: Medium, stale_after: float = DEFAULT_STALE) -> list[str]:
    """Remove the dead locks of rename media (a create medium keeps its released leases); return them."""
    swept: list[str] = []
    if medium.commit == "create":
        return swept
    for name in [n for n in medium.scan() if is_lock(n)]:
        try:
            record, info = _read(medium, name)
        except FileNotFoundError:
            continue
        reason = stale_reason(record, info, stale_after)
        if reason is not None:
            log.warning("Database backup: removing the dead lock %s in %s (%s)", name, medium.url, reason)
            medium.delete(name)
            swept.append(name)
    return swept
