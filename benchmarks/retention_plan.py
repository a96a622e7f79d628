"""How long retention.plan() takes over 100,000 snapshots (printed, never asserted)."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta

import attrs

from dbsnap.retention import Policy, plan


@attrs.frozen
class Item:
    """A dated name, all plan() needs."""

    name: str
    created_at: datetime


def main() -> None:
    """Plan 100,000 snapshots spread over ten years with a typical calendar policy."""
    rng = random.Random(42)
    end = datetime(2026, 11, 1, tzinfo=UTC)
    items = [
        Item(f"s{i}", end - timedelta(minutes=rng.randrange(10 * 365 * 24 * 60))) for i in range(100_000)
    ]
    policy = Policy(
        keep_last=10,
        keep_hourly=48,
        keep_daily=14,
        keep_weekly=8,
        keep_monthly=24,
        keep_yearly=-1,
        keep_within="3d",
        keep_within_daily="1m",
        tz="Europe/Berlin",
    )
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        result = plan(items, policy, now=end)
        timings.append(time.perf_counter() - started)
    timings.sort()
    print(
        f"plan() over {len(items):,} snapshots: median {timings[2]:.3f} s, min {timings[0]:.3f} s, "
        f"max {timings[-1]:.3f} s; keeps {len(result.keep)}, removes {len(result.remove)}"
    )


if __name__ == "__main__":
    main()
