"""Dates, instants and periods as operators type them (tthc_monitor/cli/dates.py)."""

from __future__ import annotations

import argparse
from datetime import date, datetime

import pytest

from tthc_monitor.cli.dates import day, instant, period
from tthc_monitor.cli.progress import vn_rate
from tthc_monitor.core.periods import LOCAL_TZ


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("2022-04", "2022-04"),
        ("04/2022", "2022-04"),
        ("4/2022", "2022-04"),
        (" 12/2021 ", "2021-12"),
    ],
)
def test_periods(text: str, name: str) -> None:
    assert period(text) == name


@pytest.mark.parametrize(
    "text", ["2022-4", "2022/04", "13/2022", "2022-00", "April", "", "04-2022"]
)
def test_bad_periods(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        period(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("14/04/2022", date(2022, 4, 14)),
        ("4/4/2022", date(2022, 4, 4)),
        ("2022-04-14", date(2022, 4, 14)),
    ],
)
def test_days_day_first(text: str, value: date) -> None:
    assert day(text) == value


@pytest.mark.parametrize("text", ["04/14/2022", "31/02/2022", "2022-4-14", "14.04.2022", "x"])
def test_bad_days(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        day(text)


def test_instants_default_to_vietnam_time() -> None:
    local = datetime(2022, 4, 14, 7, 30, tzinfo=LOCAL_TZ)
    assert instant("14/04/2022 07:30") == local
    assert instant("2022-04-14T07:30") == local
    assert instant("2022-04-14T00:30:00+00:00") == local
    assert instant("14/04/2022") == datetime(2022, 4, 14, tzinfo=LOCAL_TZ)
    assert instant("2022-04-14") == datetime(2022, 4, 14, tzinfo=LOCAL_TZ)
    for bad in ("14/04/2022 25:00", "tomorrow", "14/13/2022 07:00"):
        with pytest.raises(argparse.ArgumentTypeError):
            instant(bad)


def test_rates_in_vietnamese_format() -> None:
    assert vn_rate(2540.25) == "2.540"
    assert vn_rate(31.26) == "31,3"
    assert vn_rate(None) == "?"
