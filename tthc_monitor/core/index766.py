"""Decision 766 indicators from a period's figures (docs/rules.md, "Decision 766 index"). Pure."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any


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


def load_indicators(path: Path | None = None) -> tuple[Indicator, ...]:
    if path is None:
        text = resources.files("tthc_monitor.reference").joinpath("data", "index766.json")
        data: dict[str, Any] = json.loads(text.read_text("utf-8"))
    else:
        data = json.loads(path.read_text("utf-8"))
    return tuple(
        Indicator(i["id"], i["name"], float(i["points"]), i["target"]) for i in data["indicators"]
    )


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def scores(entry: Mapping[str, Any], indicators: tuple[Indicator, ...]) -> list[Score]:
    """Scores of one snapshot entry (a unit's rolled-up figures)."""
    dig, fees = entry["digitization"], entry["fees"]
    on_time = entry["resolved_early"] + entry["resolved_on_time"]
    finished = on_time + entry["resolved_late"]
    # An open dossier counts as measured at the end of the period (within = on time).
    measured = finished + entry["in_progress_within"] + entry["in_progress_overdue"]
    received = entry["received_online"] + entry["received_direct"]
    rates = {
        "2.1": _ratio(on_time + entry["in_progress_within"], measured),
        "3.3": _ratio(entry["received_online"], received),
        "3.6": _ratio(fees["paid_national_portal"], fees["dossiers"]),
        "4.1": _ratio(dig["results"], dig["resolved"]),
        "4.2": _ratio(dig["fully"], dig["received"]),
    }
    return [Score(indicator, rates.get(indicator.id)) for indicator in indicators]
