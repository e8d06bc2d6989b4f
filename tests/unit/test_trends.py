"""Trends across registry changes (core/trends.py): a unit's figure summed with its
predecessors' and naming them; the province's sum; levels from the running totals."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

import pytest

from schemas.reference import Unit
from tthc_monitor.core import figures
from tthc_monitor.core.periods import PeriodScheme
from tthc_monitor.core.snapshot import build_snapshot
from tthc_monitor.core.trends import (
    FIGURES,
    PROVINCE,
    consecutive_periods,
    period_rows,
    predecessors,
    province_trend,
    summed_note,
    unit_trend,
)
from tthc_monitor.reference.registry import Registry

SCHEME = PeriodScheme(15)
PERIODS = ("2025-01", "2025-02", "2025-03", "2025-04", "2025-05")


def _unit(unit_id: str, **fields: object) -> Unit:
    base: dict[str, object] = {
        "unit_id": unit_id,
        "name": f"Đơn vị {unit_id.upper()}",
        "level": "province",
        "kind": "department",
        "report_group": "I",
    }
    base.update(fields)
    return Unit.model_validate(base)


def registry() -> Registry:
    """a → b on 15 Feb 2025 (the start of 2025-03), b → c on 15 Mar (of 2025-04); d has
    no predecessor; x-branch is a child of c (rolled up into c)."""
    return Registry(
        units={
            "a": _unit("a", valid_to="2025-02-15", successor_id="b"),
            "b": _unit("b", valid_from="2025-02-15", valid_to="2025-03-15", successor_id="c"),
            "c": _unit("c", valid_from="2025-03-15"),
            "x-branch": _unit("x-branch", parent_id="c", kind="land_branch", report_group=""),
            "d": _unit("d"),
        },
        procedures={},
    )


def counters() -> dict[str, dict[str, int]]:
    """Hand-written counter hashes: a works until 2025-02, b in 2025-03, c from
    2025-04; a late event lands at a in 2025-05; d works every period."""
    hashes: dict[str, Counter[str]] = {p: Counter() for p in PERIODS}
    for period in PERIODS:
        hashes[period].update({"d|received_online": 1, "d|resolved_on_time": 1})
    hashes["2025-01"].update({"a|received_online": 10, "a|resolved_on_time": 8})
    hashes["2025-01"].update({"a|resolved_late": 2, "a|open_delta": 4})
    hashes["2025-02"].update({"a|received_direct": 20, "a|resolved_early": 5})
    hashes["2025-02"].update({"a|overdue_delta": 3})
    # At the change the open work passes to b: a's level goes down, b's up.
    hashes["2025-03"].update({"a|open_delta": -4, "a|overdue_delta": -3})
    hashes["2025-03"].update({"b|open_delta": 4, "b|overdue_delta": 3})
    hashes["2025-03"].update({"b|received_online": 30, "b|resolved_late": 6})
    hashes["2025-04"].update({"b|open_delta": -4, "b|overdue_delta": -3})
    hashes["2025-04"].update({"c|open_delta": 4, "c|overdue_delta": 3})
    hashes["2025-04"].update({"c|received_online": 40, "x-branch|received_direct": 2})
    hashes["2025-05"].update({"c|received_online": 50, "c|resolved_on_time": 4})
    hashes["2025-05"].update({"a|received_direct": 1})  # late, at a unit out of force
    return {p: dict(h) for p, h in hashes.items()}


def totals_of(hashes: Mapping[str, Mapping[str, int]]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for values in hashes.values():
        total.update(values)
    return dict(total)


def test_predecessors_are_found_transitively_nearest_first() -> None:
    reg = registry()
    assert predecessors(reg, "c") == ("b", "a")
    assert predecessors(reg, "b") == ("a",)
    assert predecessors(reg, "a") == ()
    assert predecessors(reg, "d") == ()
    with pytest.raises(KeyError, match="nowhere"):
        predecessors(reg, "nowhere")


def test_a_chain_across_two_changes_sums_and_names_the_predecessors() -> None:
    reg = registry()
    rows = period_rows(PERIODS, counters(), levels=False)
    trend = unit_trend(reg, SCHEME, rows, "c", FIGURES["received_new"])
    assert [p.value for p in trend.points] == [10, 20, 30, 42, 51]
    assert [p.summed_from for p in trend.points] == [("a",), ("a",), ("b",), (), ("a",)]
    assert [p.in_force for p in trend.points] == [False, False, False, True, True]
    assert trend.predecessors == ("b", "a")
    assert trend.summed_from == ("b", "a")
    # b alone: a's figures before, its own, nothing after it ended but a's late event.
    b = unit_trend(reg, SCHEME, rows, "b", FIGURES["received_new"])
    assert [p.value for p in b.points] == [10, 20, 30, 0, 1]
    assert [p.summed_from for p in b.points] == [("a",), ("a",), (), (), ("a",)]


def test_a_unit_without_predecessors_is_its_own_figures() -> None:
    rows = period_rows(PERIODS, counters(), levels=False)
    trend = unit_trend(registry(), SCHEME, rows, "d", FIGURES["resolved"])
    assert [p.value for p in trend.points] == [1] * 5
    assert all(p.summed_from == () for p in trend.points)
    assert trend.summed_from == () and summed_note(trend.summed_from) == ""


def test_a_late_event_at_a_predecessor_after_the_change_is_summed_and_named() -> None:
    rows = period_rows(PERIODS, counters(), levels=False)
    trend = unit_trend(registry(), SCHEME, rows, "c", FIGURES["received_new"])
    last = trend.points[-1]
    assert last.period == "2025-05" and last.value == 50 + 1
    assert last.summed_from == ("a",)


def test_rates_sum_numerators_and_denominators_never_rates() -> None:
    rows = period_rows(PERIODS, counters(), levels=False)
    trend = unit_trend(registry(), SCHEME, rows, "c", FIGURES["on_time_rate"])
    first, _, third, fourth, fifth = trend.points
    assert (first.numerator, first.denominator, first.value) == (8, 10, 0.8)
    assert (third.numerator, third.denominator, third.value) == (0, 6, 0.0)
    # Nothing resolved: not measured (None), not 0 %; and no predecessor named.
    assert (fourth.numerator, fourth.denominator, fourth.value) == (0, 0, None)
    assert fourth.summed_from == ()
    assert (fifth.value, fifth.summed_from) == (1.0, ())  # a's late event is no resolution


@pytest.mark.parametrize("with_totals", [True, False])
def test_levels_match_the_snapshots_of_the_unit_and_its_predecessors(with_totals: bool) -> None:
    """Carried over, received and overdue at the end: the trend's point is the sum of the
    snapshot entries of c, b and a, computed from the running totals or from history."""
    reg = registry()
    hashes = counters()
    asked = PERIODS[2:]  # from 2025-03: the levels need what came before
    if with_totals:
        rows = period_rows(asked, {p: hashes[p] for p in asked}, totals_of(hashes))
    else:
        rows = period_rows(asked, hashes)
    for name in ("received", "overdue", "online_rate"):
        trend = unit_trend(reg, SCHEME, rows, "c", FIGURES[name])
        for point in trend.points:
            snapshot = build_snapshot(point.period, SCHEME, reg, hashes, SCHEME.end(point.period))
            entries = [u for u in snapshot["units"] if u["unit_id"] in ("a", "b", "c")]
            total = {
                k: sum(int(e[k]) for e in entries)
                for k in (*figures.RECEIVED_PARTS, "in_progress_overdue")
            }
            if name == "received":
                assert point.value == figures.received_total(total), point
            elif name == "overdue":
                assert point.value == total["in_progress_overdue"], point
            else:
                rate = figures.online_share_of_received(total)
                assert (point.numerator, point.denominator) == (rate.numerator, rate.denominator)
    received = unit_trend(reg, SCHEME, rows, "c", FIGURES["received"])
    # 2025-03: b's 30 new + a's 4 carried over (handed to b within the period).
    assert [p.value for p in received.points] == [34, 46, 55]
    overdue = unit_trend(reg, SCHEME, rows, "c", FIGURES["overdue"])
    assert [p.value for p in overdue.points] == [3, 3, 3]
    # 2025-03: b held the overdue work at the period's end; a's late event is no overdue.
    assert [p.summed_from for p in overdue.points] == [("b",), (), ()]


def test_the_province_is_the_sum_of_its_rows_without_lineage() -> None:
    reg = registry()
    rows = period_rows(PERIODS, counters(), levels=False)
    trend = province_trend(reg, rows, FIGURES["received_new"])
    assert trend.unit_id == PROVINCE and trend.predecessors == ()
    assert [p.value for p in trend.points] == [11, 21, 31, 43, 52]
    assert all(p.summed_from == () for p in trend.points)
    rate = province_trend(reg, rows, FIGURES["on_time_rate"])
    assert [(p.numerator, p.denominator) for p in rate.points] == [
        (9, 11),
        (6, 6),
        (1, 7),
        (1, 1),
        (5, 5),
    ]


def test_periods_are_consecutive() -> None:
    assert consecutive_periods("2025-02", 3) == ("2024-12", "2025-01", "2025-02")
    with pytest.raises(ValueError, match="consecutive"):
        period_rows(("2025-01", "2025-03"), {})
    with pytest.raises(ValueError, match="at least one"):
        consecutive_periods("2025-02", 0)


def test_the_note_names_the_predecessors_in_vietnamese() -> None:
    assert summed_note(["Sở A", "Sở B"]) == "Gồm số liệu của đơn vị tiền nhiệm: Sở A, Sở B"
