"""Durations for retention windows: restic's ``1y2m3d4h`` syntax with calendar arithmetic."""

from __future__ import annotations

import calendar
import re
from datetime import datetime, timedelta

import attrs

_PART = re.compile(r"(\d+)([ymdh])")
_UNITS = "ymdh"


@attrs.frozen
class Duration:
    """A span of calendar years and months plus an exact time delta.

    Attributes:
        years: Calendar years.
        months: Calendar months.
        delta: Days and hours (and any smaller part of a timedelta given directly).
    """

    years: int = 0
    months: int = 0
    delta: timedelta = timedelta(0)

    @classmethod
    def parse(cls, value: str | timedelta | Duration) -> Duration:
        """Parse ``"7d"``, ``"36h"``, ``"1y2m3d4h"``, a timedelta or a Duration; ValueError if bad."""
        if isinstance(value, Duration):
            return value
        if isinstance(value, timedelta):
            if value < timedelta(0):
                raise ValueError(f"duration {value} is negative")
            return cls(delta=value)
        if not isinstance(value, str):
            raise ValueError(f"duration must be a string like '7d' or a timedelta, not {value!r}")
        text = value.strip()
        if text == "0":
            return cls()
        parts = _PART.findall(text)
        if not text or "".join(n + u for n, u in parts) != text:
            raise ValueError(
                f"duration {value!r} is not valid: write it like '7d', '36h' or '1y2m3d4h' "
                "(y years, m months, d days, h hours)"
            )
        units = [u for _, u in parts]
        if len(set(units)) != len(units):
            raise ValueError(f"duration {value!r}: give each unit once")
        amount = {u: int(n) for n, u in parts}
        return cls(
            years=amount.get("y", 0),
            months=amount.get("m", 0),
            delta=timedelta(days=amount.get("d", 0), hours=amount.get("h", 0)),
        )

    def is_zero(self) -> bool:
        """Tell whether the duration spans no time at all."""
        return not self.years and not self.months and not self.delta

    def before(self, moment: datetime) -> datetime | None:
        """Return `moment` minus this duration in `moment`'s calendar; None if before year 1."""
        try:
            months = moment.year * 12 + (moment.month - 1) - self.years * 12 - self.months
            year, month = divmod(months, 12)
            month += 1
            day = min(moment.day, calendar.monthrange(year, month)[1])
            shifted = moment.replace(year=year, month=month, day=day)
            return shifted - self.delta
        except (ValueError, OverflowError):
            return None

    def __str__(self) -> str:
        """Render in the ``1y2m3d4h`` syntax when possible."""
        days, rest = self.delta.days, self.delta - timedelta(days=self.delta.days)
        hours, exact = divmod(rest, timedelta(hours=1))
        if exact:
            return str(self.delta) if not (self.years or self.months) else repr(self)
        text = "".join(
            f"{n}{u}" for n, u in zip((self.years, self.months, days, hours), _UNITS, strict=True) if n
        )
        return text or "0h"


_TIMEOUT_PART = re.compile(r"(\d+(?:\.\d+)?)(d|h|m|s)")


def parse_timeout(value: str) -> float:
    """Parse a waiting time (``90``, ``90s``, ``5m``, ``1h30m``, ``1d``: m is minutes) into seconds.

    Unlike retention windows, where ``m`` is a calendar month (restic's rule), a timeout's ``m`` is a
    minute: nobody waits months for a lock.
    """
    text = value.strip().lower()
    try:
        number = float(text)
    except ValueError:
        parts = _TIMEOUT_PART.findall(text)
        if not parts or "".join(n + u for n, u in parts) != text:
            raise ValueError(
                f"time {value!r} is not valid: write it like '90s', '5m' or '1h30m' (d, h, m minutes, s)"
            ) from None
        number = sum(float(n) * {"d": 86400, "h": 3600, "m": 60, "s": 1}[u] for n, u in parts)
    if not number >= 0 or number == float("inf"):
        raise ValueError(f"time {value!r} must be a finite number of seconds, zero or more")
    return number
