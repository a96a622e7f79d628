"""Retention: Policy and plan(), restic's ``forget`` semantics as a pure function (no I/O)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from operator import attrgetter
from typing import Generic, Protocol, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from dbsnap.durations import Duration
from dbsnap.exceptions import ConfigError

FUTURE_GRACE = timedelta(minutes=5)
UNLIMITED = -1
PERIODS = ("hourly", "daily", "weekly", "monthly", "yearly")


class EmptyPolicyError(ConfigError):
    """A policy with no rule would delete everything; it is refused."""


class Dated(Protocol):
    """What plan() needs of a snapshot: a timezone-aware `created_at` and a `name`."""

    @property
    def created_at(self) -> datetime:
        """When the snapshot was taken."""

    @property
    def name(self) -> str:
        """The snapshot's name (breaks ties between equal times)."""


T = TypeVar("T", bound=Dated)


def _count(_inst: object, attribute: attrs.Attribute[int], value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < UNLIMITED:
        raise ConfigError(f"{attribute.name} must be a whole number >= 0, or -1 ('unlimited'); got {value!r}")


def _duration(value: str | timedelta | Duration | None) -> Duration | None:
    if value is None:
        return None
    try:
        parsed = Duration.parse(value)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return None if parsed.is_zero() else parsed


def _zone(value: str | tzinfo) -> tzinfo:
    if isinstance(value, tzinfo):
        return value
    if value.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"unknown time zone {value!r}; use an IANA name like 'Europe/Berlin'") from None


@attrs.frozen
class Policy:
    """Which snapshots to keep; rules are independent and their keeps are united.

    Attributes:
        keep_last: Keep the newest N snapshots.
        keep_hourly: Keep the newest snapshot of each of the last N hours that have one.
        keep_daily: ... of each of the last N days.
        keep_weekly: ... of each of the last N ISO weeks.
        keep_monthly: ... of each of the last N months.
        keep_yearly: ... of each of the last N years.
        keep_within: Keep everything newer than the newest snapshot minus this duration.
        keep_within_hourly: Keep the newest of every hour inside this window (likewise the others).
        tz: The calendar in which hours, days, weeks, months and years are counted.
    """

    keep_last: int = attrs.field(default=0, validator=_count, kw_only=True)
    keep_hourly: int = attrs.field(default=0, validator=_count, kw_only=True)
    keep_daily: int = attrs.field(default=0, validator=_count, kw_only=True)
    keep_weekly: int = attrs.field(default=0, validator=_count, kw_only=True)
    keep_monthly: int = attrs.field(default=0, validator=_count, kw_only=True)
    keep_yearly: int = attrs.field(default=0, validator=_count, kw_only=True)
    keep_within: Duration | None = attrs.field(default=None, converter=_duration, kw_only=True)
    keep_within_hourly: Duration | None = attrs.field(default=None, converter=_duration, kw_only=True)
    keep_within_daily: Duration | None = attrs.field(default=None, converter=_duration, kw_only=True)
    keep_within_weekly: Duration | None = attrs.field(default=None, converter=_duration, kw_only=True)
    keep_within_monthly: Duration | None = attrs.field(default=None, converter=_duration, kw_only=True)
    keep_within_yearly: Duration | None = attrs.field(default=None, converter=_duration, kw_only=True)
    tz: tzinfo = attrs.field(default=UTC, converter=_zone, kw_only=True)

    def is_empty(self) -> bool:
        """Tell whether no rule is set (such a policy is refused by plan())."""
        counts = (getattr(self, f"keep_{p}") for p in ("last", *PERIODS))
        windows = (getattr(self, f"keep_within{s}") for s in ("", *(f"_{p}" for p in PERIODS)))
        return not any(counts) and all(w is None for w in windows)

    def describe(self) -> str:
        """Return the rules that are set, e.g. ``keep_daily=7 keep_within=30d``."""
        parts = []
        for field in attrs.fields(Policy):
            value = getattr(self, field.name)
            if field.name == "tz" or value in (0, None):
                continue
            parts.append(f"{field.name}={'unlimited' if value == UNLIMITED else value}")
        return " ".join(parts) or "(no rule)"


def _bucket(period: str, moment: datetime) -> int:
    """Return a number naming `moment`'s hour, day, ISO week (its Monday), month or year."""
    if period == "hourly":
        return moment.toordinal() * 24 + moment.hour
    if period == "daily":
        return moment.toordinal()
    if period == "weekly":
        return moment.toordinal() - moment.weekday()
    if period == "monthly":
        return moment.year * 12 + moment.month
    return moment.year


@attrs.define
class Plan(Generic[T]):
    """What a policy keeps and removes, newest first, and why each kept snapshot stays.

    Attributes:
        keep: The snapshots to keep, newest first.
        remove: The snapshots to remove, newest first.
        policy: The policy that made the plan.
    """

    keep: list[T]
    remove: list[T]
    policy: Policy
    _reasons: dict[int, tuple[str, ...]]

    def reasons(self, snapshot: T) -> tuple[str, ...]:
        """Return why `snapshot` is kept (empty for one that is removed)."""
        return self._reasons.get(id(snapshot), ())


def _newest_first(snapshots: Iterable[T]) -> list[T]:
    items = list(snapshots)
    for snap in items:
        if snap.created_at.tzinfo is None:
            raise ValueError(f"snapshot {snap.name!r} has a naive created_at; give it a time zone")
    # Two stable sorts (by name, then by time) are faster than one sort on a tuple key.
    items.sort(key=attrgetter("name"), reverse=True)
    items.sort(key=attrgetter("created_at"), reverse=True)
    return items


def plan(snapshots: Iterable[T], policy: Policy, *, now: datetime | None = None) -> Plan[T]:
    """Decide which of `snapshots` `policy` keeps; pure, the input is not changed."""
    if policy.is_empty():
        raise EmptyPolicyError(
            "the retention policy has no rule, so it would delete every snapshot; "
            "set at least one, e.g. --keep-last 10"
        )
    now = datetime.now(UTC) if now is None else now
    ordered = _newest_first(snapshots)
    reasons: dict[int, list[str]] = {}
    horizon = now + FUTURE_GRACE
    walk: Sequence[T] = [s for s in ordered if s.created_at <= horizon]
    for snap in ordered:
        if snap.created_at > horizon:
            reasons[id(snap)] = ["in the future"]
    if walk:
        reasons[id(walk[0])] = ["newest snapshot"]
        _apply_rules(walk, policy, reasons)
    keep = [s for s in ordered if id(s) in reasons]
    remove = [s for s in ordered if id(s) not in reasons]
    return Plan(keep, remove, policy, {k: tuple(v) for k, v in reasons.items()})


def _apply_rules(walk: Sequence[Dated], policy: Policy, reasons: dict[int, list[str]]) -> None:
    last = len(walk) - 1
    local: list[datetime | None] = [None] * len(walk)

    def moment(index: int) -> datetime:
        value = local[index]
        if value is None:
            value = local[index] = walk[index].created_at.astimezone(policy.tz)
        return value

    def run(key: Callable[[int], object], count: int, reason: str, stop: int = len(walk)) -> None:
        previous: object = None
        for index in range(stop):
            if count == 0:
                return
            value = key(index)
            if value != previous or index == last:
                reasons.setdefault(id(walk[index]), []).append(
                    reason if value != previous else f"oldest {reason}"
                )
                previous = value
                if count > 0:
                    count -= 1

    def bucket(period: str) -> Callable[[int], int]:
        return lambda index: _bucket(period, moment(index))

    run(lambda i: i, policy.keep_last, "last snapshot")
    for period in PERIODS:
        count = getattr(policy, f"keep_{period}")
        if count:
            run(bucket(period), count, f"{period} snapshot")

    latest = moment(0)
    if policy.keep_within is not None:
        cutoff = policy.keep_within.before(latest)
        for snap in walk[: _inside(walk, cutoff)]:
            reasons.setdefault(id(snap), []).append(f"within {policy.keep_within}")
    for period in PERIODS:
        window: Duration | None = getattr(policy, f"keep_within_{period}")
        if window is not None:
            stop = _inside(walk, window.before(latest))
            run(bucket(period), UNLIMITED, f"{period} within {window}", stop)


def _inside(walk: Sequence[Dated], cutoff: datetime | None) -> int:
    """Return how many of the newest-first `walk` are strictly after `cutoff` (all if None)."""
    if cutoff is None:
        return len(walk)
    low, high = 0, len(walk)
    while low < high:
        middle = (low + high) // 2
        if walk[middle].created_at > cutoff:
            low = middle + 1
        else:
            high = middle
    return low
