"""Retention rules on hand-built timelines: restic's forget semantics, one rule at a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dbsnap.exceptions import ConfigError
from dbsnap.retention import EmptyPolicyError, Policy, plan
from tests.strategies import Item

UTC = UTC


def at(text: str, name: str | None = None) -> Item:
    moment = datetime.fromisoformat(text)
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return Item(name or text, moment)


def kept(items: list[Item], policy: Policy, now: datetime | None = None) -> list[str]:
    now = now or max(i.created_at for i in items)
    return [i.name for i in plan(items, policy, now=now).keep]


def test_keep_last_keeps_the_newest_n_and_explains() -> None:
    items = [at(f"2026-01-0{d} 12:00") for d in range(1, 6)]
    result = plan(items, Policy(keep_last=2), now=items[-1].created_at)
    assert [i.name for i in result.keep] == ["2026-01-05 12:00", "2026-01-04 12:00"]
    assert [i.name for i in result.remove] == ["2026-01-03 12:00", "2026-01-02 12:00", "2026-01-01 12:00"]
    assert result.reasons(result.keep[0]) == ("newest snapshot", "last snapshot")
    assert result.reasons(result.keep[1]) == ("last snapshot",)
    assert result.reasons(result.remove[0]) == ()


def test_keep_daily_keeps_the_newest_of_each_day() -> None:
    items = [at("2026-01-01 08:00"), at("2026-01-01 20:00"), at("2026-01-02 09:00"), at("2026-01-03 10:00")]
    assert kept(items, Policy(keep_daily=2)) == ["2026-01-03 10:00", "2026-01-02 09:00"]


def test_a_rule_with_count_left_keeps_the_oldest_too() -> None:
    items = [at("2026-01-01 08:00"), at("2026-01-01 20:00"), at("2026-01-02 09:00")]
    result = plan(items, Policy(keep_daily=5), now=items[-1].created_at)
    assert [i.name for i in result.keep] == ["2026-01-02 09:00", "2026-01-01 20:00", "2026-01-01 08:00"]
    assert result.reasons(result.keep[-1]) == ("oldest daily snapshot",)


def test_iso_week_53_spans_the_year_boundary() -> None:
    # 2020-12-28 .. 2021-01-03 is ISO week 2020-W53.
    items = [at("2020-12-27 12:00"), at("2020-12-31 12:00"), at("2021-01-02 12:00"), at("2021-01-04 12:00")]
    assert kept(items, Policy(keep_weekly=2)) == ["2021-01-04 12:00", "2021-01-02 12:00"]
    assert kept(items, Policy(keep_yearly=2)) == ["2021-01-04 12:00", "2020-12-31 12:00"]


def test_buckets_follow_the_time_zone_across_a_dst_change() -> None:
    # 2026-10-25 in Berlin: 03:00 CEST falls back to 02:00 CET. 00:30Z and 01:30Z are both
    # 02:30 local; 22:30Z the evening before is already the 25th in Berlin.
    items = [
        at("2026-10-24 22:30+00:00", "a"),
        at("2026-10-25 00:30+00:00", "b"),
        at("2026-10-25 01:30+00:00", "c"),
    ]
    assert kept(items, Policy(keep_hourly=3, tz="Europe/Berlin")) == ["c", "a"]
    assert kept(items, Policy(keep_hourly=3)) == ["c", "b", "a"]
    assert kept(items, Policy(keep_daily=1, tz="Europe/Berlin")) == ["c"]
    assert kept(items, Policy(keep_daily=2)) == ["c", "a"]


def test_equal_times_order_by_name() -> None:
    items = [at("2026-01-01 00:00", "a"), at("2026-01-01 00:00", "b")]
    assert kept(items, Policy(keep_last=1)) == ["b"]
    assert kept(list(reversed(items)), Policy(keep_last=1)) == ["b"]


def test_future_snapshots_are_kept_and_not_counted() -> None:
    now = datetime(2026, 1, 10, tzinfo=UTC)
    items = [
        at("2026-01-20 00:00", "future"),
        at("2026-01-10 00:04", "skew"),
        at("2026-01-09", "x"),
        at("2026-01-08", "y"),
    ]
    result = plan(items, Policy(keep_last=2), now=now)
    assert [i.name for i in result.keep] == ["future", "skew", "x"]
    assert result.reasons(result.keep[0]) == ("in the future",)


def test_keep_within_counts_from_the_newest_snapshot() -> None:
    items = [at("2026-03-31 12:00"), at("2026-03-25 12:00"), at("2026-03-24 11:00"), at("2026-02-28 13:00")]
    assert kept(items, Policy(keep_within="7d")) == ["2026-03-31 12:00", "2026-03-25 12:00"]
    # One calendar month before March 31 is February 28 (clamped), 12:00.
    assert kept(items, Policy(keep_within="1m")) == [i.name for i in items]
    result = plan(items, Policy(keep_within=timedelta(days=7)), now=items[0].created_at)
    assert result.reasons(result.keep[1]) == ("within 7d",)


def test_keep_within_is_relative_to_the_newest_not_now() -> None:
    items = [at("2020-01-01"), at("2019-12-30")]
    assert kept(items, Policy(keep_within="3d"), now=datetime(2026, 1, 1, tzinfo=UTC)) == [
        i.name for i in items
    ]


def test_keep_within_daily_keeps_one_per_day_inside_the_window() -> None:
    items = [at("2026-01-05 20:00"), at("2026-01-05 08:00"), at("2026-01-04 08:00"), at("2026-01-01 08:00")]
    result = plan(items, Policy(keep_within_daily="3d"), now=items[0].created_at)
    assert [i.name for i in result.keep] == ["2026-01-05 20:00", "2026-01-04 08:00"]
    assert result.reasons(result.keep[1]) == ("daily within 3d",)


def test_a_window_before_year_one_keeps_everything() -> None:
    items = [at("0002-01-01"), at("2026-01-01")]
    assert kept(items, Policy(keep_within="3000y")) == ["2026-01-01", "0002-01-01"]


def test_rules_unite() -> None:
    items = [at(f"2026-01-{d:02d} 12:00") for d in range(1, 29)]
    policy = Policy(keep_last=2, keep_weekly=2)
    names = kept(items, policy)
    assert names == ["2026-01-28 12:00", "2026-01-27 12:00", "2026-01-25 12:00"]


@pytest.mark.parametrize("policy", [Policy(), Policy(keep_last=0, keep_daily=0), Policy(keep_within="0d")])
def test_an_empty_policy_is_refused(policy: Policy) -> None:
    with pytest.raises(EmptyPolicyError):
        plan([at("2026-01-01")], policy)
    assert issubclass(EmptyPolicyError, ValueError)


def test_unlimited_keeps_every_bucket() -> None:
    items = [at(f"2026-01-{d:02d} 12:00") for d in range(1, 29)]
    assert len(kept(items, Policy(keep_daily=-1))) == 28


@pytest.mark.parametrize(
    "kwargs",
    [
        {"keep_last": -2},
        {"keep_daily": 1.5},
        {"keep_within": "7 days"},
        {"keep_within": "1d2d"},  # a unit twice (any order is fine, as in restic: "1d1y")
        {"tz": "Mars/Olympus"},
    ],
)
def test_bad_policies_are_refused_with_a_reason(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        Policy(**kwargs)  # type: ignore[arg-type]


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        plan([Item("x", datetime(2026, 1, 1))], Policy(keep_last=1))


def test_durations_render_in_their_own_syntax() -> None:
    assert str(Policy(keep_within="1y2m3d4h").keep_within) == "1y2m3d4h"
    assert str(Policy(keep_within=timedelta(hours=36)).keep_within) == "1d12h"
    assert Policy(keep_daily=7, keep_within="30d").describe() == "keep_daily=7 keep_within=30d"


def test_durations_take_their_units_in_any_order_as_restic_does() -> None:
    from dbsnap.durations import Duration

    assert Duration.parse("1d1y") == Duration.parse("1y1d")
    assert Duration.parse("0").is_zero()
