"""Rates from integer numerators and denominators, rounded exactly (integer arithmetic).

Snapshots keep integers; a rate is derived at print time. Doing the division in integers
avoids both binary floats (99.195 is not representable) and Decimal context precision.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

__all__ = ["Rounding", "percent"]


class Rounding(StrEnum):
    """How a percentage is cut to the printed number of decimals."""

    HALF_UP = "half_up"  # PL1–PL3 (the seed's habit there, and the spec)
    TRUNCATE = "truncate"  # PL05–PL06 (what the seed does in 14 of 15 telling cells)


def percent(numerator: int, denominator: int, places: int, rounding: Rounding) -> Decimal | None:
    """`numerator / denominator × 100` with `places` decimals; `None` when the denominator is 0.

    Inputs are counts (never negative); the result carries exactly `places` decimals, e.g.
    `percent(1487, 1499, 2, HALF_UP) == Decimal("99.20")`.
    """
    if numerator < 0 or denominator < 0:
        raise ValueError(f"negative count in rate {numerator}/{denominator}")
    if places < 0:
        raise ValueError(f"places must be >= 0, got {places}")
    if denominator == 0:
        return None
    scaled = numerator * 100 * 10**places
    quotient, remainder = divmod(scaled, denominator)
    if rounding is Rounding.HALF_UP and 2 * remainder >= denominator:
        quotient += 1
    return Decimal(quotient).scaleb(-places)
