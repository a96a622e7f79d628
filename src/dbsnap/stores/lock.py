"""A lock held in the store itself, so two runs on one database never interleave, across hosts too."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from dbsnap.exceptions import DbsnapError, StoreError
from dbsnap.faults import checkpoint
from dbsnap.names import safe_label
from dbsnap.stores.store import Store, temp_name

log = logging.getLogger("dbsnap")
LOCK_SUFFIX = ".dbsnap-lock"
DEFAULT_WAIT = 300.0
DEFAULT_STALE = timedelta(hours=6)
UNREADABLE_GRACE = 60.0


class LockHeld(DbsnapError, BlockingIOError):
    """Another run holds the store's lock for this database and did not let go in time."""


def lock_name(label: str) -> str:
    """Return the lock object's name for database `label` (hidden, never a snapshot name)."""
    return f".{safe_label(label)}{LOCK_SUFFIX}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read(store: Store, name: str) -> dict[str, Any] | None:
    data = store.read_many([name])[name]
    if isinstance(data, FileNotFoundError):
        raise FileNotFoundError(name)
    if isinstance(data, Exception):
        raise data
    try:
        record = json.loads(data)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def _stale(store: Store, name: str, holder: dict[str, Any] | None, stale_after: timedelta) -> str | None:
    """Return why the lock is stale, or None if its holder may still be working."""
    if holder is None:
        stamp = store.entries().get(name, {})
        mtime = stamp.get("mtime")
        seconds = mtime.timestamp() if isinstance(mtime, datetime) else mtime
        if isinstance(seconds, int | float) and time.time() - seconds > UNREADABLE_GRACE:
            return "it is unreadable (its writer died while writing it)"
        return None
    try:
        started = datetime.fromisoformat(str(holder.get("started")))
    except ValueError:
        return "its start time is unreadable"
    pid = holder.get("pid")
    if holder.get("host") == socket.gethostname() and isinstance(pid, int) and not _alive(pid):
        return f"process {pid} on this host is gone"
    if datetime.now(UTC) - started > stale_after:
        return f"it is older than {stale_after}"
    return None


def _remove_if_stale(store: Store, name: str, stale_after: timedelta) -> tuple[bool, dict[str, Any] | None]:
    """Remove lock `name` if its holder is gone; return (whether it is gone now, its holder record)."""
    try:
        holder = _read(store, name)
    except FileNotFoundError:
        return True, None
    reason = _stale(store, name, holder, stale_after)
    if reason is None:
        return False, holder
    log.warning(
        "Database backup: taking over the lock %s in %s held by %s: %s",
        name,
        store.url,
        _describe(holder),
        reason,
    )
    store.remove(name)
    return True, holder


def _describe(holder: dict[str, Any] | None) -> str:
    if holder is None:
        return "an unknown run"
    return f"pid {holder.get('pid')} on {holder.get('host')} since {holder.get('started')}"


@contextlib.contextmanager
def store_lock(
    store: Store, label: str, *, wait: float = DEFAULT_WAIT, stale_after: timedelta = DEFAULT_STALE
) -> Iterator[dict[str, Any]]:
    """Hold the lock of database `label` in `store` (an exclusively created file) while the block runs.

    Waits up to `wait` seconds for another holder; a lock older than `stale_after`, or whose holder on
    this host has died, is taken over with a warning.
    """
    name = lock_name(label)
    record = {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "started": datetime.now(UTC).isoformat(),
        "token": secrets.token_hex(8),
    }
    deadline = time.monotonic() + wait
    pause = 0.1
    store.ensure_root()
    while True:
        try:
            _publish(store, name, record)
        except FileExistsError:
            gone, holder = _remove_if_stale(store, name, stale_after)
            if gone:
                continue
            if time.monotonic() >= deadline:
                raise LockHeld(
                    f"another dbsnap run ({_describe(holder)}) holds the lock of database {label!r} in "
                    f"{store.url}; wait for it, or remove {name} there if that run is gone"
                ) from None
            time.sleep(pause)
            pause = min(pause * 2, 2.0)
            continue
        except OSError as exc:
            raise StoreError(f"cannot create the lock {name} in {store.url}: {exc}") from None
        break
    checkpoint("lock-taken")
    try:
        yield record
    finally:
        _release(store, name, label, str(record["token"]))


def _publish(store: Store, name: str, record: dict[str, Any]) -> None:
    """Write the lock whole under a temporary name, then rename it into place without overwriting.

    A run killed half-way leaves at most a temporary file (swept by prune), never an empty lock.
    """
    temp = temp_name(name)
    handle = store.create(temp)
    try:
        handle.write(json.dumps(record).encode())
    finally:
        store.finish(handle)
    try:
        store.rename_noreplace(temp, name)
    except BaseException:
        with contextlib.suppress(Exception):
            store.remove(temp)
        raise


def _release(store: Store, name: str, label: str, token: str) -> None:
    try:
        current = _read(store, name)
        if current is not None and current.get("token") == token:
            store.remove(name)
            return
    except FileNotFoundError:
        pass
    except Exception as exc:  # noqa: BLE001 - the next run takes over a lock whose holder is gone
        log.warning(
            "Database backup: could not release the lock of %s in %s (%s); the next run takes it over",
            label,
            store.url,
            exc,
        )
        return
    log.warning("Database backup: the lock of %s in %s was taken over while held", label, store.url)


def sweep_locks(store: Store, stale_after: timedelta = DEFAULT_STALE) -> list[str]:
    """Remove the locks left by runs that died (for databases nobody is working on); return them."""
    swept = []
    for name in store.entries():
        if not (name.startswith(".") and name.endswith(LOCK_SUFFIX)):
            continue
        if _remove_if_stale(store, name, stale_after)[0]:
            swept.append(name)
    return swept
