"""Fault-injection checkpoints: tests set DBSNAP_TEST_KILL_AT to SIGKILL the process at one step."""

from __future__ import annotations

import os
import signal

POINTS = (
    "payload-written",
    "payload-closed",
    "manifest-temp-written",
    "payload-renamed",
    "manifest-renamed",
    "manifest-deleted",
    "lock-taken",
    "scratch-locked",
)
# Inside the MySQL driver's swap (dbsnap.drivers.mysqlswap), where a kill leaves work for recovery.
MYSQL_POINTS = ("mysql-objects-dropped", "mysql-renamed", "mysql-triggers-created")


def checkpoint(point: str) -> None:
    """Kill this process with SIGKILL if DBSNAP_TEST_KILL_AT names `point` (tests only)."""
    if os.environ.get("DBSNAP_TEST_KILL_AT") == point:
        os.kill(os.getpid(), signal.SIGKILL)
