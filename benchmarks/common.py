"""Helpers for the benchmarks: alternating A/B timing, medians, child peak RSS, a results table."""

from __future__ import annotations

import os
import statistics
import subprocess
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
    """Sample VmHWM of `pid` itself (children excluded) until it exits."""
    while not done.is_set():
        try:
            with open(f"/proc/{pid}/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        peak[0] = max(peak[0], int(line.split()[1]))
        except OSError:
            return
        done.wait(0.02)


def run_command(argv: Sequence[str], env: dict[str, str] | None = None, stdin: str | None = None) -> Run:
    """Run `argv` to completion; return its wall time and its own peak RSS; raise on failure.

    The peak is the process's VmHWM sampled from /proc (so a pg_dump child is not counted), or
    wait4's ru_maxrss when the process was too short to sample.
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
    """dbsnap against a baseline over alternating pairs."""

    label: str
    ours: list[float]
    base: list[float]
    rss: list[float]

    @property
    def ratios(self) -> list[float]:
        """Per-pair ratio ours / baseline."""
        return [a / b for a, b in zip(self.ours, self.base, strict=True)]

    def row(self) -> str:
        """A markdown table row: median ratio, min/max, medians of both, dbsnap peak RSS."""
        r = self.ratios
        rss = f"{max(self.rss):.0f} MiB" if self.rss else "-"
        return (
            f"| {self.label} | **{statistics.median(r):.3f}** | {min(r):.3f}–{max(r):.3f} | "
            f"{statistics.median(self.ours):.2f} s | {statistics.median(self.base):.2f} s | {rss} |"
        )


HEADER = "| row | ratio (median) | min–max | dbsnap | baseline | dbsnap peak RSS |\n|---|---|---|---|---|---|"


def pairs(
    label: str, ours: Callable[[], Run | float], base: Callable[[], Run | float], count: int = 3
) -> Ratio:
    """Alternate A then B `count` times (A first, then B first, ...) and collect both timings."""
    a_times: list[float] = []
    b_times: list[float] = []
    rss: list[float] = []
    for index in range(count):
        order = [(ours, a_times), (base, b_times)]
        if index % 2:
            order.reverse()
        for action, sink in order:
            result = action()
            if isinstance(result, Run):
                sink.append(result.seconds)
                if action is ours:
                    rss.append(result.peak_rss_mb)
            else:
                sink.append(result)
    return Ratio(label, a_times, b_times, rss)
