"""How the narrative quotes figures: counts, appendix rates as printed, other ratios."""

from __future__ import annotations

from tthc_monitor.report.model import Rate
from tthc_monitor.report.rates import Rounding, percent
from tthc_monitor.report.vnformat import format_int, format_percent

__all__ = ["n", "printed", "ratio_text"]

# A ratio an appendix prints is quoted as printed there (`16,89%`), so the text never
# contradicts the table; any other ratio gets one decimal, half-up (`8,9%`).


def n(value: int) -> str:
    return format_int(value)


def ratio_text(numerator: int, denominator: int) -> str:
    """`8,9%`: one decimal, half-up; `–` when the denominator is 0 (no ratio exists)."""
    value = percent(numerator, denominator, 1, Rounding.HALF_UP)
    return "–" if value is None else format_percent(value)


def printed(rate: Rate) -> str:
    return rate.text + "%"
