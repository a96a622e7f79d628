"""The store lock: exclusive across processes and hosts, stale holders taken over, never left behind."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dbsnap.stores.local import LocalMedium
from dbsnap.stores.lock import LockHeld, LockWaitStopped, lock_name, store_lock, sweep_locks
from dbsnap.stores.sftp import SftpMedium
from tests.sshserver import SshServer


def write_lock(root: Path, label: str, **holder: object) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    path = root / lock_name(label)
    path.write_text(json.dumps(holder))
    return path


def test_the_lock_is_exclusive_and_released(tmp_path: Path) -> None:
    store = LocalMedium.from_url(str(tmp_path))
    with store_lock(store, "app") as held:
        assert (tmp_path / ".app.dbsnap-lock").exists()
        with pytest.raises(LockHeld) as info, store_lock(store, "app", wait=0.3):
            pass
        assert f"pid {held.record['pid']}" in str(info.value) and socket.gethostname() in str(info.value)
        with store_lock(store, "other", wait=0):
            pass
    assert not (tmp_path / ".app.dbsnap-lock").exists()


def test_a_lock_held_in_another_process_blocks_until_released(tmp_path: Path) -> None:
    code = (
        "import sys, time\n"
        "from dbsnap.stores.local import LocalMedium\n"
        "from dbsnap.stores.lock import store_lock\n"
        "with store_lock(LocalMedium.from_url(sys.argv[1]), 'app'):\n"
        "    print('held', flush=True)\n"
        "    time.sleep(1.5)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "held"
    store = LocalMedium.from_url(str(tmp_path))
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
    with store_lock(LocalMedium.from_url(str(tmp_path)), "app", wait=0):
        pass
    assert f"process {pid} on this host is gone" in caplog.text


def test_a_lock_whose_heartbeat_stopped_is_taken_over_a_beating_one_is_not(tmp_path: Path) -> None:
    store = LocalMedium.from_url(str(tmp_path))
    started = (datetime.now(UTC) - timedelta(days=3)).isoformat()
    path = write_lock(tmp_path, "app", host="elsewhere", pid=1, started=started, token="x")
    # Started days ago but its heartbeat is fresh: a long run (a dump waiting on a table lock) is alive.
    with pytest.raises(LockHeld, match="elsewhere"), store_lock(store, "app", wait=0, stale_after=60):
        pass
    silent = time.time() - 120
    os.utime(path, (silent, silent))
    with store_lock(store, "app", wait=0, stale_after=60):
        pass


def test_the_heartbeat_keeps_a_long_run_alive(tmp_path: Path) -> None:
    store = LocalMedium.from_url(str(tmp_path))
    with store_lock(store, "app", stale_after=2):
        time.sleep(3)  # longer than stale_after: only the heartbeat keeps the lock alive
        with pytest.raises(LockHeld), store_lock(store, "app", wait=0, stale_after=2):
            pass


def test_sweep_removes_only_dead_locks(tmp_path: Path) -> None:
    store = LocalMedium.from_url(str(tmp_path))
    write_lock(tmp_path, "live", host="elsewhere", pid=1, started=datetime.now(UTC).isoformat(), token="x")
    write_lock(
        tmp_path, "dead", host=socket.gethostname(), pid=2**22 + 7, started=datetime.now(UTC).isoformat()
    )
    assert sweep_locks(store) == [lock_name("dead")]
    assert (tmp_path / lock_name("live")).exists()


def test_the_lock_works_over_sftp(sshd: SshServer, sshd_env: SshServer) -> None:
    first = SftpMedium.from_url(sshd.url("locks"))
    second = SftpMedium.from_url(sshd.url("locks"))
    with store_lock(first, "app"):
        assert (sshd.remote / "locks" / ".app.dbsnap-lock").stat().st_mode & 0o777 == 0o600
        with pytest.raises(LockHeld), store_lock(second, "app", wait=0.2):
            pass
    assert not (sshd.remote / "locks" / ".app.dbsnap-lock").exists()
    assert os.path.isdir(sshd.remote / "locks")


def test_a_stop_ends_the_wait_for_a_held_lock_and_takes_nothing(tmp_path: Path) -> None:
    store = LocalMedium.from_url(str(tmp_path))
    stop = threading.Event()
    with store_lock(store, "app") as held:
        threading.Timer(0.5, stop.set).start()
        with (
            pytest.raises(LockWaitStopped, match="stopped while waiting"),
            store_lock(store, "app", wait=600, stop=stop),
        ):
            pass
        assert json.loads((tmp_path / ".app.dbsnap-lock").read_text())["token"] == held.token
    assert not (tmp_path / ".app.dbsnap-lock").exists()
