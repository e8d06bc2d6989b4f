"""Decision 766 indicators from a period's figures (docs/rules.md, "Decision 766 index"). Pure.

The indicator table is read by :mod:`tthc_monitor.reference.index766_files`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tthc_monitor.core import figures


@dataclass(frozen=True)
class Indicator:
    id: str
    name: str
    points: float
    target: float | None


@dataclass(frozen=True)
class Score:
    indicator: Indicator
    rate: float | None
    """None when the denominator is 0: 'not measured', never zero."""

    @property
    def goal(self) -> float:
        return self.indicator.target or 1.0

    @property
    def points(self) -> float | None:
        if self.rate is None:
            return None
        return min(1.0, self.rate / self.goal) * self.indicator.points

    @property
    def gap(self) -> float | None:
        return None if self.rate is None else max(0.0, self.goal - self.rate)


def scores(entry: Mapping[str, Any], indicators: tuple[Indicator, ...]) -> list[Score]:
    """Scores of one snapshot entry (a unit's rolled-up figures)."""
    rates = {
        "2.1": figures.in_time_share_of_measured(entry),
        "3.3": figures.online_share_of_new(entry),
        "3.6": figures.online_payment_share(entry),
        "4.1": figures.digitized_results_share(entry),
        "4.2": figures.full_components_share(entry),
    }
    # An indicator the events cannot measure (not in ``rates``) has no rate.
    return [Score(i, rates[i.id].value if i.id in rates else None) for i in indicators]
