"""Vietnam's working-day calendar: working days, computed dues and clock-stop shifts.

Working days are Monday to Friday, minus Vietnam's public holidays as the ``holidays``
package computes them (country ``VN``: Labour Code art. 112 with lunar dates, plus the
weekdays given off when a holiday falls on a weekend and the swaps the package knows),
then adjusted by a table of government-announced extra days off (``off``) and
compensatory working days (``work``, usually Saturdays). See ``docs/calendar.md``.

Pure: the table is read by :mod:`tthc_monitor.reference.calendar_files`
(``load_calendar``), which builds a :class:`WorkingCalendar` from it. Each year is built
once per :class:`WorkingCalendar` (one call into ``holidays``) into a sorted tuple of
working-day ordinals plus a per-day prefix count, so every query is O(1) within a year
(plus one step per year crossed).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import holidays

from schemas.reference import CalendarAdjustment

__all__ = ["LOCAL_TZ", "WorkingCalendar"]

LOCAL_TZ: ZoneInfo = ZoneInfo("Asia/Ho_Chi_Minh")

_COUNTRY = "VN"
_OFF_LABEL = "Ngày nghỉ (điều chỉnh)"


@dataclass(frozen=True, slots=True)
class _Year:
    """One calendar year, precomputed.

    ``upto[i]`` is the number of working days whose ordinal is <= ``first + i``; the
    working days strictly after day ``i`` are therefore ``working[upto[i]:]``.
    """

    first: int
    working: tuple[int, ...]
    upto: tuple[int, ...]
    flags: bytes
    days_off: tuple[tuple[date, str], ...]


class WorkingCalendar:
    """Working days of Vietnamese state agencies, with deadline arithmetic.

    Instances memoize one :class:`_Year` per year on first use and are otherwise
    immutable; build a new calendar to change the adjustments.
    """

    office_end: time
    tz: ZoneInfo

    def __init__(
        self,
        adjustments: Iterable[CalendarAdjustment] = (),
        *,
        office_end: time = time(17, 0),
        tz: ZoneInfo = LOCAL_TZ,
    ) -> None:
        if office_end.tzinfo is not None:
            raise ValueError("office_end must be a naive local time of day")
        self.office_end = office_end
        self.tz = tz
        by_date: dict[date, CalendarAdjustment] = {}
        for adj in adjustments:
            seen = by_date.get(adj.date)
            if seen is not None and seen.kind != adj.kind:
                raise ValueError(
                    f"conflicting calendar adjustments for {adj.date.isoformat()}: "
                    f"{seen.kind!r} and {adj.kind!r}"
                )
            by_date[adj.date] = adj
        self._adjustments: dict[date, CalendarAdjustment] = by_date
        self._by_year: dict[int, list[CalendarAdjustment]] = {}
        for adj in by_date.values():
            self._by_year.setdefault(adj.date.year, []).append(adj)
        self._years: dict[int, _Year] = {}

    def __repr__(self) -> str:
        return (
            f"WorkingCalendar({len(self._adjustments)} adjustments, "
            f"office_end={self.office_end.isoformat()}, tz={self.tz.key!r})"
        )

    @property
    def adjustments(self) -> tuple[CalendarAdjustment, ...]:
        """The adjustments in effect, sorted by date."""
        return tuple(sorted(self._adjustments.values(), key=lambda a: a.date))

    # -- per-year tables -------------------------------------------------------------

    def _year(self, year: int) -> _Year:
        data = self._years.get(year)
        if data is None:
            data = self._build_year(year)
            self._years[year] = data
        return data

    def _build_year(self, year: int) -> _Year:
        package = holidays.country_holidays(_COUNTRY, years=year)
        names: dict[date, str] = {d: str(n) for d, n in package.items() if d.year == year}
        adjustments = {a.date: a for a in self._by_year.get(year, ())}
        first_day = date(year, 1, 1)
        first = first_day.toordinal()
        length = date(year, 12, 31).toordinal() - first + 1
        weekday0 = first_day.weekday()
        working: list[int] = []
        upto: list[int] = []
        flags = bytearray(length)
        days_off: list[tuple[date, str]] = []
        for i in range(length):
            ordinal = first + i
            day = date.fromordinal(ordinal)
            adj = adjustments.get(day)
            if adj is not None:
                is_working = adj.kind == "work"
                if not is_working:
                    days_off.append((day, adj.note or _OFF_LABEL))
            elif (weekday0 + i) % 7 >= 5:
                is_working = False
            elif day in names:
                is_working = False
                days_off.append((day, names[day]))
            else:
                is_working = True
            if is_working:
                working.append(ordinal)
                flags[i] = 1
            upto.append(len(working))
        return _Year(first, tuple(working), tuple(upto), bytes(flags), tuple(days_off))

    # -- days ------------------------------------------------------------------------

    def is_working_day(self, d: date) -> bool:
        y = self._year(d.year)
        return y.flags[d.toordinal() - y.first] == 1

    def holidays_in(self, year: int) -> dict[date, str]:
        """Weekdays off (holidays, observed and substituted days) plus ``off`` rows."""
        return dict(self._year(year).days_off)

    def next_working_day(self, d: date) -> date:
        """``d`` itself if it is a working day, else the next working day."""
        y = self._year(d.year)
        i = d.toordinal() - y.first
        if y.flags[i]:
            return d
        return self._nth_after(y, d.year, y.upto[i])

    def add_working_days(self, d: date, n: int) -> date:
        """The ``n``-th working day after ``d`` (``d`` itself when ``n == 0``)."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        if n == 0:
            return d
        y = self._year(d.year)
        return self._nth_after(y, d.year, y.upto[d.toordinal() - y.first] + n - 1)

    def _nth_after(self, y: _Year, year: int, k: int) -> date:
        """The working day at index ``k`` of ``y.working``, continuing into later years."""
        while k >= len(y.working):
            k -= len(y.working)
            year += 1
            y = self._year(year)
        return date.fromordinal(y.working[k])

    def working_days_in(self, start: date, end: date) -> int:
        """Working days whose date lies in ``(start, end]``; 0 when ``end <= start``."""
        if end <= start:
            return 0
        ys = self._year(start.year)
        before = ys.upto[start.toordinal() - ys.first]
        if end.year == start.year:
            return ys.upto[end.toordinal() - ys.first] - before
        total = len(ys.working) - before
        for year in range(start.year + 1, end.year):
            total += len(self._year(year).working)
        ye = self._year(end.year)
        return total + ye.upto[end.toordinal() - ye.first]

    # -- instants --------------------------------------------------------------------

    def local_date(self, t: datetime) -> date:
        """The date of aware ``t`` in the calendar's time zone."""
        if t.tzinfo is None or t.utcoffset() is None:
            raise ValueError(f"expected an aware datetime, got naive {t.isoformat()}")
        return t.astimezone(self.tz).date()

    def computed_due(self, received_at: datetime, processing_days: int) -> datetime:
        """End of office hours of the N-th working day after the (effective) receipt day.

        A dossier received on a non-working day counts as received on the next working
        day R; the due is ``office_end`` of the N-th working day after R, or of R itself
        for N = 0. Returns an aware datetime in ``tz``.
        """
        if processing_days < 0:
            raise ValueError(f"processing_days must be >= 0, got {processing_days}")
        d = self.local_date(received_at)
        y = self._year(d.year)
        i = d.toordinal() - y.first
        # Working d: the N-th after d (d when N = 0). Non-working d: R is the first
        # working day after d, so the N-th after R is the (N + 1)-th after d.
        k = y.upto[i] + processing_days - (1 if y.flags[i] else 0)
        due = d if y.flags[i] and processing_days == 0 else self._nth_after(y, d.year, k)
        return datetime.combine(due, self.office_end, tzinfo=self.tz)

    def shift(self, due: datetime, n: int) -> datetime:
        """Move ``due`` forward by ``n`` working days, keeping its local time of day.

        The new date is ``add_working_days(local date of due, n)``, counted from the
        due's own date even when that is not a working day. ``n == 0`` returns ``due``
        unchanged; otherwise the result is expressed in ``tz``.
        """
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        if due.tzinfo is None or due.utcoffset() is None:
            raise ValueError(f"expected an aware datetime, got naive {due.isoformat()}")
        if n == 0:
            return due
        local = due.astimezone(self.tz)
        new = self.add_working_days(local.date(), n)
        return local.replace(year=new.year, month=new.month, day=new.day)
