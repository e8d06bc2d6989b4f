"""Vietnamese number formatting and exact rate rounding."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tthc_monitor.report.rates import Rounding, percent
from tthc_monitor.report.vnformat import (
    format_date_long,
    format_date_short,
    format_decimal,
    format_int,
    format_month,
    format_percent,
)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0"),
        (7, "7"),
        (999, "999"),
        (1000, "1.000"),
        (67918, "67.918"),
        (1234567, "1.234.567"),
        (-3827, "-3.827"),
    ],
)
def test_format_int(value: int, text: str) -> None:
    assert format_int(value) == text


def test_format_int_ungrouped() -> None:
    assert format_int(67918, grouped=False) == "67918"


@pytest.mark.parametrize(
    ("value", "trim", "text"),
    [
        ("99.20", False, "99,20"),
        ("99.20", True, "99,2"),
        ("100.00", False, "100,00"),
        ("100.00", True, "100"),
        ("0.00", True, "0"),
        ("0.08", True, "0,08"),
        ("12345.60", False, "12.345,60"),
        ("-0.5", False, "-0,5"),
        ("45", False, "45"),
    ],
)
def test_format_decimal(value: str, trim: bool, text: str) -> None:
    assert format_decimal(Decimal(value), trim=trim) == text


def test_format_percent_and_dates() -> None:
    assert format_percent(Decimal("9.7")) == "9,7%"
    assert format_percent(Decimal("16.89")) == "16,89%"
    assert format_percent(Decimal("220.8")) == "220,8%"
    assert format_date_short(date(2022, 3, 15)) == "15/3/2022"
    assert format_date_long(date(2022, 4, 14)) == "ngày 14 tháng 4 năm 2022"
    assert format_month("2022-04") == "4/2022"
    assert format_month("2021-12") == "12/2021"


@pytest.mark.parametrize(
    ("numerator", "denominator", "places", "rounding", "expected"),
    [
        (1487, 1499, 2, Rounding.HALF_UP, "99.20"),  # 99.1995 (PL1 Sở Công thương)
        (1487, 1499, 2, Rounding.TRUNCATE, "99.19"),
        (1, 571, 2, Rounding.TRUNCATE, "0.17"),  # 0.1751 (PL05 Sở Tư pháp)
        (1, 571, 2, Rounding.HALF_UP, "0.18"),
        (33, 64, 1, Rounding.HALF_UP, "51.6"),  # 51.5625
        (33, 64, 1, Rounding.TRUNCATE, "51.5"),
        (1, 8, 1, Rounding.HALF_UP, "12.5"),
        (1, 16, 1, Rounding.HALF_UP, "6.3"),  # exactly 6.25: half-up, not half-even
        (1, 16, 1, Rounding.TRUNCATE, "6.2"),
        (5, 5, 2, Rounding.HALF_UP, "100.00"),
        (0, 72, 2, Rounding.HALF_UP, "0.00"),
        (3827, 43179, 1, Rounding.HALF_UP, "8.9"),
        (3369, 1526, 1, Rounding.HALF_UP, "220.8"),
    ],
)
def test_percent(
    numerator: int, denominator: int, places: int, rounding: Rounding, expected: str
) -> None:
    value = percent(numerator, denominator, places, rounding)
    assert value is not None
    assert str(value) == expected


def test_percent_zero_denominator_is_none() -> None:
    assert percent(0, 0, 2, Rounding.HALF_UP) is None


def test_percent_rejects_negative_counts() -> None:
    with pytest.raises(ValueError, match="negative"):
        percent(-1, 5, 2, Rounding.HALF_UP)
