"""Reporting periods: named by the month they end in, cut on a configurable day.

With cut day 15, period ``2022-04`` is ``[2022-03-15 00:00, 2022-04-15 00:00)`` local
time; with cut day 1 it is the calendar month of April.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
_PERIOD_RE = re.compile(r"^(\d{4})-(\d{2})$")


def parse_period(name: str) -> tuple[int, int]:
    """``"2022-04"`` -> ``(2022, 4)``; ValueError naming the bad value otherwise."""
    match = _PERIOD_RE.match(name)
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise ValueError(f"period must look like YYYY-MM, got {name!r}")
    return int(match.group(1)), int(match.group(2))


def format_period(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def shift_period(name: str, months: int) -> str:
    year, month = parse_period(name)
    index = year * 12 + (month - 1) + months
    return format_period(index // 12, index % 12 + 1)


@dataclass(frozen=True)
class PeriodScheme:
    """Maps instants to period names and back; all intervals are half-open."""

    cut_day: int = 15
    tz: ZoneInfo = LOCAL_TZ

    def __post_init__(self) -> None:
        if not 1 <= self.cut_day <= 28:
            raise ValueError(f"cut day must be between 1 and 28, got {self.cut_day}")

    def period_of(self, instant: datetime) -> str:
        local = instant.astimezone(self.tz)
        return _period_of_date(local.year, local.month, local.day, self.cut_day)

    def bounds(self, name: str) -> tuple[datetime, datetime]:
        """Start (inclusive) and end (exclusive) of the period, aware, local time."""
        return _bounds(name, self.cut_day, self.tz)

    def start(self, name: str) -> datetime:
        return self.bounds(name)[0]

    def end(self, name: str) -> datetime:
        return self.bounds(name)[1]


@lru_cache(maxsize=4096)
def _period_of_date(year: int, month: int, day: int, cut_day: int) -> str:
    if cut_day > 1 and day >= cut_day:
        month += 1
        if month == 13:
            year, month = year + 1, 1
    return format_period(year, month)


@lru_cache(maxsize=4096)
def _bounds(name: str, cut_day: int, tz: ZoneInfo) -> tuple[datetime, datetime]:
    _year, _month = parse_period(name)
    if cut_day == 1:
        start_name, end_name = name, shift_period(name, 1)
    else:
        start_name, end_name = shift_period(name, -1), name
    sy, sm = parse_period(start_name)
    ey, em = parse_period(end_name)
    start = datetime.combine(datetime(sy, sm, cut_day).date(), time(0, 0), tzinfo=tz)
    end = datetime.combine(datetime(ey, em, cut_day).date(), time(0, 0), tzinfo=tz)
    return start, end
