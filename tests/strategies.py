"""Hypothesis strategies shared by the property tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
from hypothesis import strategies as st

from dbsnap.manifest import Snapshot
from dbsnap.retention import Policy

NAME_FIRST = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
NAME_REST = NAME_FIRST + "._-"

valid_names = st.builds(
    lambda first, rest: first + rest,
    st.sampled_from(NAME_FIRST),
    st.text(alphabet=NAME_REST, max_size=60),
).filter(lambda n: not n.endswith(".manifest.json"))

hostile_names = st.one_of(
    st.text(max_size=80),
    st.sampled_from(
        [
            "",
            ".",
            "..",
            "../x",
            "a/b",
            "/etc/passwd",
            ".hidden",
            "x\\y",
            "a\x00b",
            "ok.manifest.json",
            "-" * 3,
        ]
    ),
    st.builds(lambda n: "../" + n, valid_names),
)

aware_times = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2040, 12, 31), timezones=st.just(UTC)
)

sha256s = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**53), 2**53), st.text(max_size=20))
driver_info = st.dictionaries(st.text(max_size=10), json_scalars, max_size=5)

snapshots = st.builds(
    Snapshot,
    name=valid_names,
    database=st.text(max_size=30),
    driver=st.sampled_from(["sqlite", "postgresql", "other"]),
    created_at=aware_times,
    size=st.integers(0, 2**50),
    sha256=sha256s,
    codec=st.sampled_from(["zstd", "gzip", "none"]),
    driver_info=driver_info,
    dbsnap_version=st.text(max_size=10),
)


@attrs.frozen
class Item:
    """A minimal dated object for retention plans."""

    name: str
    created_at: datetime


BASE = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


@st.composite
def timelines(draw: st.DrawFn, max_size: int = 60, future: bool = False) -> list[Item]:
    """Lists of snapshots spread over about three years before BASE (some at equal times)."""
    offsets = draw(st.lists(st.integers(0, 3 * 365 * 24 * 60), max_size=max_size))
    items = [Item(f"s{i:04d}", BASE - timedelta(minutes=m)) for i, m in enumerate(offsets)]
    if future:
        ahead = draw(st.lists(st.integers(6, 60 * 24 * 30), max_size=3))
        items += [Item(f"f{i:02d}", BASE + timedelta(minutes=m)) for i, m in enumerate(ahead)]
    return items


counts = st.one_of(st.just(0), st.integers(1, 12), st.just(-1))
windows = st.one_of(st.none(), st.sampled_from(["6h", "3d", "2m", "1y", "10d12h", "2y"]))


@st.composite
def policies(draw: st.DrawFn, unlimited: bool = True, with_windows: bool = True) -> Policy:
    """Non-empty retention policies."""
    count = counts if unlimited else st.integers(0, 12)
    rules: dict[str, Any] = {
        f"keep_{r}": draw(count) for r in ("last", "hourly", "daily", "weekly", "monthly", "yearly")
    }
    if with_windows:
        for r in ("", "_hourly", "_daily", "_weekly", "_monthly", "_yearly"):
            rules[f"keep_within{r}"] = draw(windows)
    policy = Policy(**rules, tz=draw(st.sampled_from(["UTC", "Europe/Berlin", "America/New_York"])))
    if policy.is_empty():
        policy = attrs.evolve(policy, keep_last=1)
    return policy
