"""Scratch files: locked while their process lives, swept by the next run once it died."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dbsnap.scratch import GRACE, scratch_file, sweep

HOLD = """
import sys, time
from dbsnap.scratch import scratch_file
with scratch_file("sqlite", ".sqlite") as scratch:
    scratch.path.write_bytes(b"x" * 1000)
    print(scratch.path, flush=True)
    time.sleep(60)
"""


def _holder(folder: Path) -> tuple[subprocess.Popen[str], Path]:
    env = {**os.environ, "DBSNAP_TMPDIR": str(folder)}
    proc = subprocess.Popen([sys.executable, "-c", HOLD], env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, Path(proc.stdout.readline().strip())


def _age(path: Path) -> None:
    old = time.time() - GRACE - 60
    os.utime(path, (old, old))


def test_a_killed_runs_scratch_file_is_swept_and_a_living_ones_is_not(tmp_path: Path) -> None:
    alive, kept = _holder(tmp_path)
    dead, left = _holder(tmp_path)
    try:
        dead.send_signal(signal.SIGKILL)
        dead.wait(timeout=10)
        _age(kept)
        _age(left)
        assert sweep(str(tmp_path)) == 1
        assert kept.exists() and not left.exists()
    finally:
        alive.kill()
        alive.wait(timeout=10)


def test_a_new_scratch_file_sweeps_first_and_young_files_are_spared(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DBSNAP_TMPDIR", str(tmp_path))
    stale = tmp_path / ".dbsnap-pgpass-stale"  # left by a run killed before this version locked files
    stale.write_text("*:*:*:*:secret\n")
    _age(stale)
    young = tmp_path / ".dbsnap-download-young"  # may be a run between creating and locking it
    young.write_bytes(b"")
    other = tmp_path / "not-ours.sqlite"
    other.write_bytes(b"")
    _age(other)
    with scratch_file("download") as scratch:
        assert scratch.path.parent == tmp_path and scratch.path.exists()
        assert oct(scratch.path.stat().st_mode & 0o777) == "0o600"
        assert not stale.exists() and young.exists() and other.exists()
    assert not scratch.path.exists()
    scratch.remove()  # twice is harmless
