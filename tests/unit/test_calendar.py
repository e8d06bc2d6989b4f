"""The Vietnamese working-day calendar (docs/rules.md, "Deadlines")."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta, timezone
from functools import cache
from pathlib import Path

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.reference import CalendarAdjustment
from tthc_monitor.core.calendar import LOCAL_TZ, WorkingCalendar
from tthc_monitor.reference.calendar_files import (
    BUNDLED_ADJUSTMENTS,
    AdjustmentFileError,
    load_adjustments,
    load_calendar,
)

CAL = load_calendar()
BARE = WorkingCalendar()

# The weekdays off in 2022 (docs/rules.md, "Working days").
WEEKDAYS_OFF_2022 = {
    date(2022, 1, 3),
    *(date(2022, 1, 31) + timedelta(days=i) for i in range(5)),  # 31 Jan - 4 Feb
    date(2022, 4, 11),
    date(2022, 5, 2),
    date(2022, 5, 3),
    date(2022, 9, 1),
    date(2022, 9, 2),
}

dates = st.dates(min_value=date(2021, 1, 1), max_value=date(2027, 12, 31))


def local(y: int, m: int, d: int, hh: int = 0, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, ss, tzinfo=LOCAL_TZ)


# -- an independent oracle: the package's holidays plus the table, day by day ---------


@cache
def _package_holidays(year: int) -> frozenset[date]:
    return frozenset(d for d in holidays.country_holidays("VN", years=year) if d.year == year)


def oracle_is_working(d: date, adjustments: Mapping[date, str]) -> bool:
    if d in adjustments:
        return adjustments[d] == "work"
    return d.weekday() < 5 and d not in _package_holidays(d.year)


BUNDLED = {a.date: a.kind for a in load_adjustments(BUNDLED_ADJUSTMENTS)}


def naive_count(start: date, end: date) -> int:
    n, d = 0, start + timedelta(days=1)
    while d <= end:
        n += oracle_is_working(d, BUNDLED)
        d += timedelta(days=1)
    return n


# -- which days are working days -----------------------------------------------------


def test_package_gives_exactly_the_spec_2022_weekdays_off() -> None:
    package = holidays.country_holidays("VN", years=2022)
    assert {d for d in package if d.weekday() < 5} == WEEKDAYS_OFF_2022


@pytest.mark.parametrize("cal", [CAL, BARE], ids=["bundled", "bare"])
def test_2022_weekdays_off(cal: WorkingCalendar) -> None:
    assert set(cal.holidays_in(2022)) == WEEKDAYS_OFF_2022
    year = [date(2022, 1, 1) + timedelta(days=i) for i in range(365)]
    off = {d for d in year if d.weekday() < 5 and not cal.is_working_day(d)}
    assert off == WEEKDAYS_OFF_2022
    assert all(cal.holidays_in(2022).values())  # every day off has a name


def test_weekends_are_not_working_days() -> None:
    assert not CAL.is_working_day(date(2022, 3, 19))  # Saturday
    assert not CAL.is_working_day(date(2022, 3, 20))  # Sunday
    assert CAL.is_working_day(date(2022, 3, 18))  # Friday
    assert CAL.is_working_day(date(2022, 3, 21))  # Monday


@settings(max_examples=300)
@given(dates)
def test_is_working_day_matches_oracle(d: date) -> None:
    assert CAL.is_working_day(d) == oracle_is_working(d, BUNDLED)
    if d.weekday() >= 5 and d not in BUNDLED:
        assert not CAL.is_working_day(d)


def test_work_saturday_counts() -> None:
    sat = date(2025, 4, 26)  # swapped with Friday 2 May 2025
    assert sat.weekday() == 5
    assert CAL.is_working_day(sat)
    assert not BARE.is_working_day(sat)
    assert not CAL.is_working_day(date(2025, 5, 2))
    # Received Friday 25 April with N = 1: the working Saturday is day 1.
    assert CAL.computed_due(local(2025, 4, 25, 10), 1) == local(2025, 4, 26, 17)
    assert BARE.computed_due(local(2025, 4, 25, 10), 1) == local(2025, 4, 28, 17)
    assert CAL.working_days_in(date(2025, 4, 25), date(2025, 4, 28)) == 2
    assert CAL.add_working_days(date(2025, 4, 25), 1) == sat
    assert CAL.next_working_day(sat) == sat


def test_custom_adjustments_off_and_work() -> None:
    cal = WorkingCalendar(
        [
            CalendarAdjustment(date=date(2022, 3, 18), kind="off", note="extra day off"),
            CalendarAdjustment(date=date(2022, 3, 26), kind="work", note="make-up Saturday"),
        ]
    )
    assert not cal.is_working_day(date(2022, 3, 18))
    assert cal.is_working_day(date(2022, 3, 26))
    assert cal.holidays_in(2022)[date(2022, 3, 18)] == "extra day off"
    assert date(2022, 3, 26) not in cal.holidays_in(2022)
    assert cal.computed_due(local(2022, 3, 17, 9), 1) == local(2022, 3, 21, 17)


def test_work_adjustment_overrides_a_package_holiday() -> None:
    cal = WorkingCalendar([CalendarAdjustment(date=date(2022, 1, 3), kind="work")])
    assert cal.is_working_day(date(2022, 1, 3))
    assert date(2022, 1, 3) not in cal.holidays_in(2022)


def test_conflicting_adjustments_are_rejected() -> None:
    with pytest.raises(ValueError, match="conflicting"):
        WorkingCalendar(
            [
                CalendarAdjustment(date=date(2026, 1, 2), kind="off"),
                CalendarAdjustment(date=date(2026, 1, 2), kind="work"),
            ]
        )


def test_bundled_table_2026_new_year_swap() -> None:
    assert not CAL.is_working_day(date(2026, 1, 2))
    assert CAL.is_working_day(date(2026, 1, 10))
    assert date(2026, 1, 2) in CAL.holidays_in(2026)
    # Across the year boundary: 31/12 working, 1/1 holiday, 2/1 off, 3-4/1 weekend.
    assert CAL.add_working_days(date(2025, 12, 31), 1) == date(2026, 1, 5)
    assert CAL.working_days_in(date(2025, 12, 30), date(2026, 1, 5)) == 2
    assert CAL.next_working_day(date(2026, 1, 1)) == date(2026, 1, 5)


def test_bundled_table_is_consistent() -> None:
    rows = load_adjustments(BUNDLED_ADJUSTMENTS)
    assert rows, "the bundled table must not be empty"
    for row in rows:
        assert row.note, f"{row.date} needs its source notice in note"
        if row.kind == "work":
            assert row.date.weekday() >= 5, f"{row.date}: a 'work' row is a weekend day"
        else:
            assert row.date.weekday() < 5, f"{row.date}: an 'off' row is a weekday"
            assert row.date not in _package_holidays(row.date.year), "package already has it"


# -- computed due --------------------------------------------------------------------


def test_computed_due_friday_afternoon_n1_is_monday() -> None:
    assert CAL.computed_due(local(2022, 3, 18, 16), 1) == local(2022, 3, 21, 17)


def test_computed_due_saturday_n0_is_monday() -> None:
    assert CAL.computed_due(local(2022, 3, 19, 9), 0) == local(2022, 3, 21, 17)
    assert CAL.computed_due(local(2022, 3, 20, 23, 59), 0) == local(2022, 3, 21, 17)


def test_computed_due_working_day_n0_is_same_day() -> None:
    assert CAL.computed_due(local(2022, 3, 18, 8), 0) == local(2022, 3, 18, 17)


def test_computed_due_across_tet_2022() -> None:
    # Tết Nhâm Dần: 31 Jan - 4 Feb 2022 off, plus the weekends around it.
    assert CAL.computed_due(local(2022, 1, 28, 10), 1) == local(2022, 2, 7, 17)
    assert CAL.computed_due(local(2022, 1, 27, 10), 3) == local(2022, 2, 8, 17)
    assert CAL.computed_due(local(2022, 2, 2, 10), 0) == local(2022, 2, 7, 17)
    assert CAL.computed_due(local(2022, 2, 2, 10), 2) == local(2022, 2, 9, 17)
    assert CAL.working_days_in(date(2022, 1, 28), date(2022, 2, 7)) == 1


def test_computed_due_across_30_4_and_1_5_2022() -> None:
    # 30/4 and 1/5/2022 fall on Saturday and Sunday: Monday 2 and Tuesday 3 May are off.
    assert CAL.computed_due(local(2022, 4, 29, 15), 1) == local(2022, 5, 4, 17)
    assert CAL.computed_due(local(2022, 4, 30, 9), 0) == local(2022, 5, 4, 17)
    assert CAL.computed_due(local(2022, 4, 28, 9), 2) == local(2022, 5, 4, 17)


def test_computed_due_hung_kings_2022() -> None:
    assert CAL.computed_due(local(2022, 4, 8, 9), 1) == local(2022, 4, 12, 17)


def test_computed_due_is_aware_and_local() -> None:
    due = CAL.computed_due(local(2022, 3, 18, 16), 5)
    assert due.tzinfo == LOCAL_TZ
    assert due.utcoffset() == timedelta(hours=7)


def test_computed_due_respects_office_end() -> None:
    cal = load_calendar(office_end=time(16, 30))
    assert cal.office_end == time(16, 30)
    assert cal.computed_due(local(2022, 3, 18, 16), 1) == local(2022, 3, 21, 16, 30)


def test_aware_datetimes_in_other_offsets_use_the_local_date() -> None:
    # 20:00 UTC Friday is 03:00 Saturday in Hà Nội: a non-working day.
    t = datetime(2022, 3, 18, 20, 0, tzinfo=UTC)
    assert CAL.local_date(t) == date(2022, 3, 19)
    assert CAL.computed_due(t, 0) == local(2022, 3, 21, 17)
    # 09:00 UTC Friday is 16:00 Friday local.
    t2 = datetime(2022, 3, 18, 9, 0, tzinfo=UTC)
    assert CAL.computed_due(t2, 1) == local(2022, 3, 21, 17)
    # A -05:00 offset: 23:00 Sunday 20 March there is 11:00 Monday 21 March local.
    t3 = datetime(2022, 3, 20, 23, 0, tzinfo=timezone(timedelta(hours=-5)))
    assert CAL.local_date(t3) == date(2022, 3, 21)
    assert CAL.computed_due(t3, 0) == local(2022, 3, 21, 17)


def test_naive_datetimes_are_rejected() -> None:
    with pytest.raises(ValueError, match="aware"):
        CAL.computed_due(datetime(2022, 3, 18, 16), 1)
    with pytest.raises(ValueError, match="aware"):
        CAL.local_date(datetime(2022, 3, 18, 16))
    with pytest.raises(ValueError, match="aware"):
        CAL.shift(datetime(2022, 3, 18, 16), 1)


def test_negative_counts_are_rejected() -> None:
    with pytest.raises(ValueError):
        CAL.add_working_days(date(2022, 3, 18), -1)
    with pytest.raises(ValueError):
        CAL.computed_due(local(2022, 3, 18, 16), -1)
    with pytest.raises(ValueError):
        CAL.shift(local(2022, 3, 18, 16), -1)


@settings(max_examples=300)
@given(
    st.datetimes(
        min_value=datetime(2021, 1, 1), max_value=datetime(2027, 6, 30), timezones=st.just(UTC)
    ),
    st.integers(min_value=0, max_value=60),
)
def test_computed_due_properties(received: datetime, n: int) -> None:
    due = CAL.computed_due(received, n)
    r = CAL.next_working_day(CAL.local_date(received))
    assert due.timetz() == time(17, 0, tzinfo=LOCAL_TZ)
    assert CAL.is_working_day(due.date())
    assert CAL.working_days_in(r, due.date()) == n
    assert due.date() == CAL.add_working_days(r, n)


# -- counting and adding ------------------------------------------------------------


@settings(max_examples=300)
@given(dates, dates)
def test_working_days_in_matches_naive_count(a: date, b: date) -> None:
    assert CAL.working_days_in(a, b) == naive_count(a, b)


def test_working_days_in_is_half_open_left() -> None:
    fri, mon = date(2022, 3, 18), date(2022, 3, 21)
    assert CAL.working_days_in(fri, mon) == 1  # Monday only
    assert CAL.working_days_in(fri, fri) == 0
    assert CAL.working_days_in(mon, fri) == 0
    assert CAL.working_days_in(date(2021, 12, 31), date(2027, 12, 31)) == naive_count(
        date(2021, 12, 31), date(2027, 12, 31)
    )


@settings(max_examples=300)
@given(dates, st.integers(min_value=0, max_value=400))
def test_add_working_days_and_working_days_in_agree(d: date, n: int) -> None:
    later = CAL.add_working_days(d, n)
    assert CAL.working_days_in(d, later) == n
    if n == 0:
        assert later == d
    else:
        assert later > d
        assert CAL.is_working_day(later)
        assert CAL.working_days_in(d, later - timedelta(days=1)) == n - 1


@settings(max_examples=200)
@given(dates)
def test_next_working_day(d: date) -> None:
    nxt = CAL.next_working_day(d)
    assert nxt >= d
    assert CAL.is_working_day(nxt)
    assert all(not CAL.is_working_day(d + timedelta(days=i)) for i in range((nxt - d).days))
    if CAL.is_working_day(d):
        assert nxt == d
    else:
        assert nxt == CAL.add_working_days(d, 1)


# -- shift (clock stops) -------------------------------------------------------------


def test_shift_keeps_time_of_day() -> None:
    due = local(2022, 1, 28, 17)
    assert CAL.shift(due, 1) == local(2022, 2, 7, 17)
    assert CAL.shift(local(2022, 3, 18, 9, 45, 30), 2) == local(2022, 3, 22, 9, 45, 30)


def test_shift_zero_is_unchanged() -> None:
    due = datetime(2022, 3, 18, 10, 0, tzinfo=UTC)
    assert CAL.shift(due, 0) is due


def test_shift_from_a_non_working_date_counts_from_it() -> None:
    # A due on Saturday 29 Jan 2022 (set by hand) moved 1 working day: Monday 7 Feb.
    assert CAL.shift(local(2022, 1, 29, 10, 30), 1) == local(2022, 2, 7, 10, 30)


def test_shift_converts_other_offsets_to_local_first() -> None:
    # 10:00 UTC Friday 28 Jan = 17:00 local; 20:00 UTC Friday = 03:00 Saturday local.
    assert CAL.shift(datetime(2022, 1, 28, 10, tzinfo=UTC), 1) == local(2022, 2, 7, 17)
    assert CAL.shift(datetime(2022, 1, 28, 20, tzinfo=UTC), 1) == local(2022, 2, 7, 3)


def test_clock_stop_example() -> None:
    # Paused from a request on Thu 27 Jan 2022 to a supplement on Tue 8 Feb 2022:
    # working days in (27/1, 8/2] are 28/1, 7/2, 8/2.
    paused = CAL.working_days_in(date(2022, 1, 27), date(2022, 2, 8))
    assert paused == 3
    assert CAL.shift(local(2022, 2, 1, 17), paused) == local(2022, 2, 9, 17)


@settings(max_examples=200)
@given(
    st.datetimes(
        min_value=datetime(2021, 1, 1), max_value=datetime(2027, 6, 30), timezones=st.just(UTC)
    ),
    st.integers(min_value=0, max_value=100),
)
def test_shift_properties(due: datetime, n: int) -> None:
    moved = CAL.shift(due, n)
    before = due.astimezone(LOCAL_TZ)
    after = moved.astimezone(LOCAL_TZ)
    assert after.time() == before.time()
    assert after.date() == CAL.add_working_days(before.date(), n)
    assert moved >= due


# -- loading the table -------------------------------------------------------------


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "adj.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_load_adjustments_ok(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '\ufeffdate,kind,note\n2025-04-26,work,"Làm bù, TB 6150"\n\n2026-01-02, off ,x\n',
    )
    rows = load_adjustments(path)
    assert rows == [
        CalendarAdjustment(date=date(2025, 4, 26), kind="work", note="Làm bù, TB 6150"),
        CalendarAdjustment(date=date(2026, 1, 2), kind="off", note="x"),
    ]
    cal = load_calendar(path)
    assert cal.is_working_day(date(2025, 4, 26))
    assert not cal.is_working_day(date(2026, 1, 10))  # the file replaces the bundled table


def test_load_adjustments_note_column_optional(tmp_path: Path) -> None:
    rows = load_adjustments(write(tmp_path, "date,kind\n2025-04-26,work\n"))
    assert rows == [CalendarAdjustment(date=date(2025, 4, 26), kind="work")]


def test_load_adjustments_bad_kind(tmp_path: Path) -> None:
    path = write(tmp_path, "date,kind,note\n2025-04-26,work,a\n2025-05-02,holiday,b\n")
    with pytest.raises(AdjustmentFileError) as info:
        load_adjustments(path)
    assert "line 3" in str(info.value)
    assert "'kind'" in str(info.value)
    assert "holiday" in str(info.value)
    assert (info.value.line, info.value.field) == (3, "kind")


@pytest.mark.parametrize("bad", ["2025-02-30", "26/04/2025", "2025-4-26", "", "20250426"])
def test_load_adjustments_bad_date(tmp_path: Path, bad: str) -> None:
    path = write(tmp_path, f"date,kind,note\n{bad},work,a\n")
    with pytest.raises(AdjustmentFileError) as info:
        load_adjustments(path)
    assert "line 2" in str(info.value)
    assert "'date'" in str(info.value)
    assert (info.value.line, info.value.field) == (2, "date")


def test_load_adjustments_duplicate_date(tmp_path: Path) -> None:
    path = write(
        tmp_path, "date,kind,note\n2025-04-26,work,a\n2025-04-27,work,b\n2025-04-26,off,c\n"
    )
    with pytest.raises(AdjustmentFileError, match=r"line 4, field 'date'.*first at line 2"):
        load_adjustments(path)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("", 1),
        ("day,kind,note\n2025-04-26,work,a\n", 1),
        ("date,kind,note,extra\n", 1),
        ("date,kind,note\n2025-04-26,work\n", 2),
        ("date,kind,note\n2025-04-26,work,a,b\n", 2),
    ],
)
def test_load_adjustments_bad_shape(tmp_path: Path, text: str, line: int) -> None:
    with pytest.raises(AdjustmentFileError, match=rf"line {line}\b"):
        load_adjustments(write(tmp_path, text))


def test_load_calendar_bundled() -> None:
    assert BUNDLED_ADJUSTMENTS.is_file()
    assert BUNDLED_ADJUSTMENTS.name == "vn_calendar_adjustments.csv"
    cal = load_calendar()
    assert cal.tz == LOCAL_TZ
    assert cal.office_end == time(17, 0)
    assert {a.date for a in cal.adjustments} == set(BUNDLED)
