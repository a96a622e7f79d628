"""The store lock: exclusive across processes and hosts, stale holders taken over, never left behind."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dbsnap.stores.local import LocalStore
from dbsnap.stores.lock import LockHeld, lock_name, store_lock, sweep_locks
from dbsnap.stores.sftp import SftpStore
from tests.sshserver import SshServer


def write_lock(root: Path, label: str, **holder: object) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    path = root / lock_name(label)
    path.write_text(json.dumps(holder))
    return path


def test_the_lock_is_exclusive_and_released(tmp_path: Path) -> None:
    store = LocalStore.from_url(str(tmp_path))
    with store_lock(store, "app") as record:
        assert (tmp_path / ".app.dbsnap-lock").exists()
        with pytest.raises(LockHeld) as info, store_lock(store, "app", wait=0.3):
            pass
        assert f"pid {record['pid']}" in str(info.value) and socket.gethostname() in str(info.value)
        with store_lock(store, "other", wait=0):
            pass
    assert not (tmp_path / ".app.dbsnap-lock").exists()


def test_a_lock_held_in_another_process_blocks_until_released(tmp_path: Path) -> None:
    code = (
        "import sys, time\n"
        "from dbsnap.stores.local import LocalStore\n"
        "from dbsnap.stores.lock import store_lock\n"
        "with store_lock(LocalStore.from_url(sys.argv[1]), 'app'):\n"
        "    print('held', flush=True)\n"
        "    time.sleep(1.5)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "held"
    store = LocalStore.from_url(str(tmp_path))
    with pytest.raises(LockHeld), store_lock(store, "app", wait=0.2):
        pass
    with store_lock(store, "app", wait=30):
        assert holder.wait(10) == 0


def test_a_dead_holder_on_this_host_is_taken_over(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    pid = int(dead.stdout)
    write_lock(
        tmp_path, "app", host=socket.gethostname(), pid=pid, started=datetime.now(UTC).isoformat(), token="x"
    )
    with store_lock(LocalStore.from_url(str(tmp_path)), "app", wait=0):
        pass
    assert f"process {pid} on this host is gone" in caplog.text


def test_an_old_lock_from_another_host_is_taken_over_a_fresh_one_is_not(tmp_path: Path) -> None:
    store = LocalStore.from_url(str(tmp_path))
    fresh = datetime.now(UTC).isoformat()
    write_lock(tmp_path, "app", host="elsewhere", pid=1, started=fresh, token="x")
    with pytest.raises(LockHeld, match="elsewhere"), store_lock(store, "app", wait=0):
        pass
    old = (datetime.now(UTC) - timedelta(hours=7)).isoformat()
    write_lock(tmp_path, "app", host="elsewhere", pid=1, started=old, token="x")
    with store_lock(store, "app", wait=0, stale_after=timedelta(hours=6)):
        pass


def test_sweep_removes_only_dead_locks(tmp_path: Path) -> None:
    store = LocalStore.from_url(str(tmp_path))
    write_lock(tmp_path, "live", host="elsewhere", pid=1, started=datetime.now(UTC).isoformat(), token="x")
    write_lock(
        tmp_path, "dead", host=socket.gethostname(), pid=2**22 + 7, started=datetime.now(UTC).isoformat()
    )
    assert sweep_locks(store) == [lock_name("dead")]
    assert (tmp_path / lock_name("live")).exists()


def test_the_lock_works_over_sftp(sshd: SshServer, sshd_env: SshServer) -> None:
    first = SftpStore.from_url(sshd.url("locks"))
    second = SftpStore.from_url(sshd.url("locks"))
    with store_lock(first, "app"):
        assert (sshd.remote / "locks" / ".app.dbsnap-lock").stat().st_mode & 0o777 == 0o600
        with pytest.raises(LockHeld), store_lock(second, "app", wait=0.2):
            pass
    assert not (sshd.remote / "locks" / ".app.dbsnap-lock").exists()
    assert os.path.isdir(sshd.remote / "locks")
