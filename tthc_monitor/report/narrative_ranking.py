"""Naming units by a rate: the `top` highest and lowest, with every unit tied at the cut."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import TypeVar

from tthc_monitor.report.model import Row, Table, Text
from tthc_monitor.report.narrative_figures import n, printed
from tthc_monitor.report.profile import NarrativeSpec

__all__ = [
    "Ranked",
    "extremes",
    "extremes_sentence",
    "first_with_ties",
    "rate_extremes",
    "row_name",
]

_T = TypeVar("_T")

# Only units whose denominator reaches `min_denominator` are ranked, so 2/2 = 100% does
# not outrank a unit with thousands of dossiers; exact rates are compared, ties in print
# order.


@dataclass(frozen=True)
class Ranked:
    name: str
    numerator: int
    denominator: int
    shown: str  # the rate as the sentence prints it


def row_name(table: Table, row: Row) -> str:
    cell = table.cell(row, "unit_name")
    return cell.text if isinstance(cell, Text) else ""


def extremes(
    table: Table,
    rows: Sequence[Row],
    ratio: Callable[[Row], tuple[int, int]],
    shown: Callable[[Row], str],
    spec: NarrativeSpec,
) -> tuple[list[Ranked], list[Ranked]]:
    """(highest, lowest) units by the exact ratio, among units whose denominator reaches
    `spec.min_denominator`; a unit named among the highest is not named among the lowest."""
    eligible = []
    for position, row in enumerate(rows):
        numerator, denominator = ratio(row)
        if denominator >= spec.min_denominator:
            ranked = Ranked(row_name(table, row), numerator, denominator, shown(row))
            eligible.append((Fraction(numerator, denominator), position, ranked))
    high = first_with_ties(sorted(eligible, key=lambda e: (-e[0], e[1])), spec.top)
    rest = [e for e in eligible if e[2] not in high]
    low = first_with_ties(sorted(rest, key=lambda e: (e[0], e[1])), spec.top)
    return high, low


def first_with_ties(ordered: Sequence[tuple[Fraction, int, _T]], top: int) -> list[_T]:
    """The first `top`, and every further unit tied with the last of them: naming three of
    six units at 100% would suggest the other three did worse."""
    chosen = list(ordered[:top])
    for entry in ordered[top:]:
        if not chosen or entry[0] != chosen[-1][0]:
            break
        chosen.append(entry)
    return [item for _, _, item in chosen]


def _ranked_list(items: Sequence[Ranked]) -> str:
    return "; ".join(
        f"{r.name} ({r.shown}; {n(r.numerator)}/{n(r.denominator)} hồ sơ)" for r in items
    )


def extremes_sentence(
    what: str,
    high: Sequence[Ranked],
    low: Sequence[Ranked],
    spec: NarrativeSpec,
    pointer: str = "",
) -> str | None:
    if not high:
        return None
    text = f"Đơn vị có {what} cao nhất: {_ranked_list(high)}."
    if low:
        text += f" Thấp nhất: {_ranked_list(low)}."
    scope = f"Xét các đơn vị có từ {n(spec.min_denominator)} hồ sơ trở lên"
    return text + (f" ({scope}; {pointer}.)" if pointer else f" ({scope}.)")


def rate_extremes(
    table: Table, key: str, what: str, spec: NarrativeSpec, pointer: str = ""
) -> str | None:
    def ratio(row: Row) -> tuple[int, int]:
        rate = table.rate(row, key)
        return rate.numerator, rate.denominator

    def shown(row: Row) -> str:
        return printed(table.rate(row, key))

    high, low = extremes(table, table.unit_rows, ratio, shown, spec)
    return extremes_sentence(what, high, low, spec, pointer)
