"""Period attribution: half-open intervals, cut day, local time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tthc_monitor.core.periods import LOCAL_TZ, PeriodScheme, parse_period, shift_period


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=LOCAL_TZ)  # type: ignore[misc]


def test_seed_period() -> None:
    scheme = PeriodScheme(15)
    assert scheme.bounds("2022-04") == (local(2022, 3, 15), local(2022, 4, 15))
    assert scheme.period_of(local(2022, 3, 15)) == "2022-04"
    assert scheme.period_of(local(2022, 4, 14, 23, 59, 59)) == "2022-04"
    assert scheme.period_of(local(2022, 4, 15)) == "2022-05"
    assert scheme.period_of(local(2021, 12, 15)) == "2022-01"


def test_local_time_decides() -> None:
    # 14/4 17:30 UTC is 15/4 00:30 in Vietnam: the next period.
    assert PeriodScheme(15).period_of(datetime(2022, 4, 14, 17, 30, tzinfo=UTC)) == "2022-05"


def test_cut_day_one_is_the_calendar_month() -> None:
    scheme = PeriodScheme(1)
    assert scheme.bounds("2022-12") == (local(2022, 12, 1), local(2023, 1, 1))
    assert scheme.period_of(local(2022, 12, 31, 23, 0)) == "2022-12"


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="YYYY-MM"):
        parse_period("2022-4")
    with pytest.raises(ValueError, match="YYYY-MM"):
        parse_period("2022-13")
    with pytest.raises(ValueError, match="cut day"):
        PeriodScheme(29)
    assert shift_period("2022-01", -1) == "2021-12"


@given(
    cut=st.integers(1, 28),
    minutes=st.integers(0, 60 * 24 * 365 * 6),
)
def test_every_instant_lies_in_its_period(cut: int, minutes: int) -> None:
    scheme = PeriodScheme(cut)
    instant = local(2021, 1, 1) + timedelta(minutes=minutes)
    start, end = scheme.bounds(scheme.period_of(instant))
    assert start <= instant < end
    assert scheme.bounds(shift_period(scheme.period_of(instant), 1))[0] == end
