"""Levels from the running totals equal levels summed over all history
(core/snapshot.unit_figures; docs/redis-layout.md, "Running totals")."""

from __future__ import annotations

import random
from collections import defaultdict

import pytest

from tthc_monitor.core.counters import FLOW_METRICS, LEVEL_METRICS
from tthc_monitor.core.periods import shift_period
from tthc_monitor.core.snapshot import unit_figures

PERIODS = [shift_period("2022-04", -k) for k in range(23, -1, -1)]


def history(seed: int) -> dict[str, dict[str, int]]:
    rng = random.Random(seed)
    counters: dict[str, dict[str, int]] = {}
    for period in PERIODS:
        values: dict[str, int] = {}
        for unit in ("a", "b", "c"):
            for metric in rng.sample(FLOW_METRICS, 5) + rng.sample(LEVEL_METRICS, 3):
                value = rng.randint(-4, 9) if metric in LEVEL_METRICS else rng.randint(1, 9)
                if value:
                    values[f"{unit}|{metric}"] = value
        counters[period] = values
    return counters


def totals_of(counters: dict[str, dict[str, int]]) -> dict[str, int]:
    sums: dict[str, int] = defaultdict(int)
    for values in counters.values():
        for field, value in values.items():
            sums[field] += value
    return {k: v for k, v in sums.items() if v}


def nonzero(figures: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    return {u: {k: v for k, v in row.items() if v} for u, row in figures.items()}


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize(
    ("period", "months"), [("2022-04", 1), ("2022-04", 3), ("2021-07", 1), ("2020-05", 2)]
)
def test_levels_from_totals_equal_the_full_sum(seed: int, period: str, months: int) -> None:
    counters = history(seed)
    first = shift_period(period, 1 - months)
    full = unit_figures(period, counters, first)
    needed = {p: v for p, v in counters.items() if p >= first}
    assert nonzero(unit_figures(period, needed, first, totals_of(counters))) == nonzero(full)
