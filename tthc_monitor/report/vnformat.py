"""Vietnamese number formatting: `67.918`, `9,7%`, `ngày 14 tháng 4 năm 2022`.

Vietnamese writes `.` between thousands and `,` before decimals, the reverse of English.
Every human-readable output of the report (narrative, Markdown, printed rate cells) goes
through these functions, so the convention lives in one place.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

__all__ = [
    "format_date_long",
    "format_date_short",
    "format_decimal",
    "format_int",
    "format_month",
    "format_percent",
]

THOUSANDS = "."
DECIMAL = ","


def format_int(value: int, *, grouped: bool = True) -> str:
    """`67918` -> `67.918` (`67918` with `grouped=False`); negatives keep their sign."""
    if not grouped:
        return str(value)
    digits = str(abs(value))
    groups: list[str] = []
    while len(digits) > 3:
        groups.insert(0, digits[-3:])
        digits = digits[:-3]
    groups.insert(0, digits)
    return ("-" if value < 0 else "") + THOUSANDS.join(groups)


def format_decimal(value: Decimal, *, trim: bool = False, grouped: bool = True) -> str:
    """A decimal as written in Vietnamese, with the digits `value` carries.

    `Decimal("99.20")` -> `99,20`; with `trim=True` trailing zeros after the comma are dropped,
    and the comma with them: `Decimal("87.10")` -> `87,1`, `Decimal("100.00")` -> `100`.
    The caller rounds first (see `rates`); this function never rounds.
    """
    sign = "-" if value < 0 else ""
    text = format(abs(value), "f")
    whole, _, fraction = text.partition(".")
    if trim:
        fraction = fraction.rstrip("0")
    body = format_int(int(whole), grouped=grouped)
    return sign + (f"{body}{DECIMAL}{fraction}" if fraction else body)


def format_percent(value: Decimal, *, trim: bool = False) -> str:
    """`Decimal("9.7")` -> `9,7%` (already rounded by the caller)."""
    return format_decimal(value, trim=trim) + "%"


def format_date_short(day: date) -> str:
    """`15/3/2022`: day and month without leading zeros, as the seed writes `15/3`."""
    return f"{day.day}/{day.month}/{day.year}"


def format_date_long(day: date) -> str:
    """`ngày 15 tháng 3 năm 2022`."""
    return f"ngày {day.day} tháng {day.month} năm {day.year}"


def format_month(period: str) -> str:
    """Period name `2022-04` -> `4/2022` (as in "tháng 4/2022")."""
    year, _, month = period.partition("-")
    return f"{int(month)}/{year}"
