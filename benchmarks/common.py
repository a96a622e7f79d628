"""Helpers for the benchmarks: alternating A/B timing, medians, child peak RSS, a results table."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence

import attrs


@attrs.frozen
class Run:
    """One timed command: wall seconds and the child's peak resident memory in MiB."""

    seconds: float
    peak_rss_mb: float


def _own_peak(pid: int, peak: list[int], done: threading.Event) -> None:
    """Sample VmHWM of `pid` itself (children excluded) until it exits: every 1 ms at first, then 20 ms."""
    interval = 0.001
    while not done.is_set():
        try:
            with open(f"/proc/{pid}/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        peak[0] = max(peak[0], int(line.split()[1]))
        except OSError:
            return
        done.wait(interval)
        interval = min(interval * 2, 0.02)


def run_command(argv: Sequence[str], env: dict[str, str] | None = None, stdin: str | None = None) -> Run:
    """Run `argv` to completion; return its wall time and its own peak RSS; raise on failure.

    The peak is the process's own VmHWM sampled from /proc (so a pg_dump child is not counted), or
    wait4's ru_maxrss when no sample was taken. ru_maxrss is no substitute otherwise: it keeps the
    pages the child shared with this (large) Python process before exec, about 42 MiB.
    """
    started = time.perf_counter()
    proc = subprocess.Popen(
        list(argv),
        env=env,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    if stdin is not None:
        assert proc.stdin is not None
        proc.stdin.write(stdin.encode())
        proc.stdin.close()
    peak = [0]
    done = threading.Event()
    sampler = threading.Thread(target=_own_peak, args=(proc.pid, peak, done), daemon=True)
    sampler.start()
    assert proc.stderr is not None
    err = proc.stderr.read()
    done.set()
    sampler.join()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed ({proc.returncode}): {err.decode(errors='replace')[-2000:]}")
    return Run(seconds, (peak[0] or usage.ru_maxrss) / 1024)


def timed(action: Callable[[], object]) -> float:
    """Return the wall time of one call."""
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


@attrs.frozen
class Ratio:
    """dbsnap against a baseline over alternating pairs, with both sides' peak memory."""

    label: str
    ours: list[float]
    base: list[float]
    rss: list[float]
    base_rss: list[float] = attrs.field(factory=list)

    @property
    def ratios(self) -> list[float]:
        """Per-pair ratio ours / baseline."""
        return [a / b for a, b in zip(self.ours, self.base, strict=True)]

    @property
    def median(self) -> float:
        """The median ratio."""
        return statistics.median(self.ratios)

    def row(self, prefix: str = "") -> str:
        """A markdown table row: median ratio, min/max, medians of both, both peak RSS."""
        r = self.ratios
        rss = f"{max(self.rss):.0f} MiB" if self.rss else "-"
        base_rss = f"{max(self.base_rss):.0f} MiB" if self.base_rss else "-"
        return (
            f"| {prefix}{self.label} | **{self.median:.3f}** | {min(r):.3f}–{max(r):.3f} | "
            f"{statistics.median(self.ours):.2f} s | {statistics.median(self.base):.2f} s | "
            f"{rss} | {base_rss} |"
        )


HEADER = (
    "| row | dbsnap / baseline (median) | min–max | dbsnap | baseline | dbsnap peak RSS "
    "| baseline peak RSS |\n"
    "|---|---|---|---|---|---|---|"
)


def dbsnap(*args: str) -> list[str]:
    """argv of the dbsnap command line in this Python."""
    return [sys.executable, "-m", "dbsnap", *args]


def sequence(*runs: Run) -> Run:
    """Several baseline commands run one after the other: their total time, the largest peak."""
    return Run(sum(r.seconds for r in runs), max(r.peak_rss_mb for r in runs))


def pairs(label: str, ours: Callable[[], Run], base: Callable[[], Run], count: int = 3) -> Ratio:
    """Alternate A then B `count` times (A first, then B first, ...) and collect both timings."""
    times: dict[str, list[float]] = {"ours": [], "base": []}
    peaks: dict[str, list[float]] = {"ours": [], "base": []}
    for index in range(count):
        order = [("ours", ours), ("base", base)]
        if index % 2:
            order.reverse()
        for side, action in order:
            result = action()
            times[side].append(result.seconds)
            peaks[side].append(result.peak_rss_mb)
    return Ratio(label, times["ours"], times["base"], peaks["ours"], peaks["base"])
