"""Dates, instants and periods as operators type them, for every command's options.

Vietnam writes dates day first (``14/04/2022``); ISO dates (``2022-04-14``) work too.
A period is named by the month it ends in (tthc_monitor/core/periods.py: with the cut day
15, ``2022-04`` runs from 15 March to 14 April) and is written ``2022-04`` or ``04/2022``
(``4/2022`` too). Each parser is an argparse ``type``: a bad value becomes argparse's own
one-line error naming the option, exit 2 (tthc_monitor/cli/main.py).
"""

from __future__ import annotations

import argparse
import re
from datetime import date, datetime, time

from tthc_monitor.core.periods import LOCAL_TZ, format_period

__all__ = ["day", "instant", "period"]

_ISO_PERIOD = re.compile(r"(\d{4})-(\d{2})")
_VN_PERIOD = re.compile(r"(\d{1,2})/(\d{4})")
_VN_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_VN_INSTANT = re.compile(r"(\d{1,2}/\d{1,2}/\d{4})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?")

PERIOD_FORMS = "YYYY-MM (2022-04) or MM/YYYY (04/2022)"
DATE_FORMS = "dd/mm/yyyy (14/04/2022) or YYYY-MM-DD (2022-04-14)"
INSTANT_FORMS = (
    "a date (dd/mm/yyyy or YYYY-MM-DD: its midnight), 'dd/mm/yyyy HH:MM' or RFC 3339 "
    "(2022-04-14T07:30:00+07:00); without an offset, Vietnam time"
)


def period(text: str) -> str:
    """``2022-04``, ``04/2022`` or ``4/2022`` -> ``"2022-04"`` (the canonical name)."""
    value = text.strip()
    iso = _ISO_PERIOD.fullmatch(value)
    vn = _VN_PERIOD.fullmatch(value)
    if iso:
        year, month = int(iso.group(1)), int(iso.group(2))
    elif vn:
        year, month = int(vn.group(2)), int(vn.group(1))
    else:
        raise argparse.ArgumentTypeError(f"{text!r} is not a period: write {PERIOD_FORMS}")
    if not 1 <= month <= 12:
        raise argparse.ArgumentTypeError(f"{text!r}: month {month} does not exist")
    return format_period(year, month)


def day(text: str) -> date:
    """``14/04/2022`` (day first, as Vietnam writes it) or ``2022-04-14``."""
    value = text.strip()
    vn = _VN_DATE.fullmatch(value)
    try:
        if vn:
            return date(int(vn.group(3)), int(vn.group(2)), int(vn.group(1)))
        if _ISO_DATE.fullmatch(value):
            return date.fromisoformat(value)
    except ValueError as error:
        # date() says which part is out of range ("day is out of range for month").
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: {error}") from None
    raise argparse.ArgumentTypeError(f"{text!r} is not a date: write {DATE_FORMS}")


def instant(text: str) -> datetime:
    """An aware time: RFC 3339, ``dd/mm/yyyy HH:MM[:SS]``, or a date (its local midnight).

    Without an offset the time is Vietnam's (Asia/Ho_Chi_Minh), as on the one-stop
    system's screens.
    """
    value = text.strip()
    found: datetime | None = None
    vn = _VN_INSTANT.fullmatch(value)
    if vn:
        on = day(vn.group(1))
        try:
            clock = time(int(vn.group(2)), int(vn.group(3)), int(vn.group(4) or 0))
        except ValueError as error:
            raise argparse.ArgumentTypeError(f"{text!r} is not a time: {error}") from None
        found = datetime.combine(on, clock)
    elif _VN_DATE.fullmatch(value) or _ISO_DATE.fullmatch(value):
        found = datetime.combine(day(value), time(0, 0))
    else:
        try:
            found = datetime.fromisoformat(value)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a time: write {INSTANT_FORMS}"
            ) from None
    return found if found.tzinfo else found.replace(tzinfo=LOCAL_TZ)
