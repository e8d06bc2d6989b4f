"""A figure over consecutive periods, for one unit (with its predecessors) or the
province. Pure: the counters come in, points go out.

Figures stay with the unit that did the work (docs/reference-data.md): snapshots and
reports never move them. A trend that crosses a registry change would otherwise break
at the change (the old unit's line stops, the new one's starts from nothing), so a
unit's trend sums, in every period, its own figures and those of every predecessor
(units whose chain of successors leads to it), and each point names the predecessors
whose figures it holds, so a view can say so ("Gồm số liệu của đơn vị tiền nhiệm: …").
After the change a predecessor's figures are normally zero, but a late event may still
land there: it is summed and named too. The province's trend is the sum of its report
rows and needs no lineage.

Rates are kept as numerator and denominator, summed separately, and divided last.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import pairwise

from tthc_monitor.core import figures
from tthc_monitor.core.counters import FLOW_METRICS
from tthc_monitor.core.periods import PeriodScheme, parse_period, shift_period
from tthc_monitor.core.snapshot import PeriodCounters
from tthc_monitor.reference.registry import Registry

__all__ = [
    "FIGURES",
    "PROVINCE",
    "Trend",
    "TrendFigure",
    "TrendPoint",
    "consecutive_periods",
    "period_rows",
    "predecessors",
    "province_trend",
    "summed_note",
    "unit_trend",
]

PROVINCE = "province"
"""The name a caller uses for the province's trend (never a unit id: ids are lower
case with a digit or a letter first, and no unit may be called this in practice)."""

Row = dict[str, int]
"""One unit's own figures in one period: the flow counters, ``carried_over`` (open at
the start), ``in_progress_within`` and ``in_progress_overdue`` (open at the end)."""

# Level fields of a row, from the ``*_delta`` counters (core/counters.py).
_OPEN = ("open_delta", "interagency_open_delta")
_LEVELS = ("open_delta", "interagency_open_delta", "overdue_delta")


@dataclass(frozen=True)
class TrendFigure:
    """A figure a trend can follow: its Vietnamese label, whether it is a rate, whether
    it needs the levels (open dossiers: running totals or every earlier period)."""

    name: str
    label: str
    measure: Callable[[Mapping[str, int]], int | figures.Rate]
    rate: bool = False
    levels: bool = False


def _entry(row: Mapping[str, int]) -> dict[str, int]:
    """A snapshot-like entry with every field the figures read (missing ones are 0)."""
    return _ZERO | dict(row)


_ZERO: dict[str, int] = {
    name: 0
    for name in (
        *figures.RECEIVED_PARTS,
        *figures.RESOLVED_PARTS,
        "in_progress_within",
        "in_progress_overdue",
    )
}

FIGURES: Mapping[str, TrendFigure] = {
    f.name: f
    for f in (
        # What a wall compares month to month: the work that came in, the work done, how
        # much of it in time, how much of it online, what is left overdue.
        TrendFigure("received_new", "Tiếp nhận mới", figures.received_new),
        TrendFigure(
            "received",
            "Tiếp nhận (gồm kỳ trước chuyển sang)",
            figures.received_total,
            levels=True,
        ),
        TrendFigure("resolved", "Đã giải quyết", figures.resolved_total),
        TrendFigure("on_time_rate", "Tỷ lệ đúng hạn", figures.on_time_share_of_resolved, rate=True),
        TrendFigure(
            "online_rate",
            "Tỷ lệ tiếp nhận trực tuyến",
            figures.online_share_of_received,
            rate=True,
            levels=True,
        ),
        TrendFigure(
            "overdue",
            "Đang quá hạn cuối kỳ",
            lambda e: int(e["in_progress_overdue"]),
            levels=True,
        ),
    )
}


@dataclass(frozen=True)
class TrendPoint:
    period: str
    value: int | float | None
    """A count, or a rate's value (``None`` when its denominator is 0: not measured)."""
    numerator: int | None = None
    denominator: int | None = None
    summed_from: tuple[str, ...] = ()
    """Predecessors whose figures (any part of them, for a rate) are in this point."""
    in_force: bool = True
    """Whether the unit itself was in force on some day of the period."""


@dataclass(frozen=True)
class Trend:
    unit_id: str
    """A unit id, or :data:`PROVINCE`."""
    figure: TrendFigure
    points: tuple[TrendPoint, ...]
    predecessors: tuple[str, ...] = ()
    """Every predecessor of the unit, nearest first (summed in every period)."""

    @property
    def summed_from(self) -> tuple[str, ...]:
        """The predecessors that contributed to some point, in :attr:`predecessors` order."""
        used = {p for point in self.points for p in point.summed_from}
        return tuple(p for p in self.predecessors if p in used)


def consecutive_periods(last: str, count: int) -> tuple[str, ...]:
    """The ``count`` periods ending with ``last``, oldest first."""
    if count < 1:
        raise ValueError(f"a trend needs at least one period, got {count}")
    parse_period(last)
    return tuple(shift_period(last, k - count + 1) for k in range(count))


def _check_consecutive(periods: Sequence[str]) -> None:
    if not periods:
        raise ValueError("a trend needs at least one period")
    for before, after in pairwise(periods):
        if shift_period(before, 1) != after:
            raise ValueError(f"periods must be consecutive, oldest first: {before} then {after}")


def period_rows(
    periods: Sequence[str],
    counters: Mapping[str, PeriodCounters],
    totals: PeriodCounters | None = None,
    levels: bool = True,
) -> dict[str, dict[str, Row]]:
    """Each unit's own figures in each period: ``period -> unit -> row``.

    ``counters`` holds the counter hashes by period name. Flows need only the periods
    asked. With ``levels``, the open dossiers at the start and end of each period come
    either from ``totals`` (``{ns}:totals``, each field summed over every period) and
    the hashes of every period after the first asked, or, without ``totals``, from the
    hashes of every period up to the last asked (the same two ways as
    :func:`tthc_monitor.core.snapshot.unit_figures`)."""
    _check_consecutive(periods)
    first, last = periods[0], periods[-1]
    flows = set(FLOW_METRICS)
    rows: dict[str, dict[str, Row]] = {p: {} for p in periods}
    changes: dict[str, dict[str, Row]] = {}
    for name, values in counters.items():
        if not (levels or first <= name <= last):
            continue
        asked = rows.get(name)
        changed: dict[str, Row] = {}
        for field, value in values.items():
            unit_id, _, metric = field.partition("|")
            if asked is not None and metric in flows:
                row = asked.setdefault(unit_id, {})
                row[metric] = row.get(metric, 0) + value
            elif levels and metric in _LEVELS:
                row = changed.setdefault(unit_id, {})
                row[metric] = row.get(metric, 0) + value
        if changed:
            changes[name] = changed
    if not levels:
        return rows

    # The level at the end of the last period asked: the running totals less what
    # changed after it, or the sum of every change up to it.
    level: dict[str, Row] = {}
    if totals is not None:
        for field, value in totals.items():
            unit_id, _, metric = field.partition("|")
            if metric in _LEVELS:
                level.setdefault(unit_id, {})[metric] = value
        after = (n for n in changes if n > last)
        sign = -1
    else:
        after = (n for n in changes if n <= last)
        sign = 1
    for name in after:
        for unit_id, delta in changes[name].items():
            row = level.setdefault(unit_id, {})
            for metric, value in delta.items():
                row[metric] = row.get(metric, 0) + sign * value
    # Then back one period at a time: the level at a period's start is the level at its
    # end less the changes within it.
    for name in reversed(periods):
        asked = rows[name]
        for unit_id, at_end in level.items():
            row = asked.setdefault(unit_id, {})
            overdue = at_end.get("overdue_delta", 0)
            row["in_progress_overdue"] = overdue
            row["in_progress_within"] = at_end.get("open_delta", 0) - overdue
        for unit_id, delta in changes.get(name, {}).items():
            row = level.setdefault(unit_id, {})
            for metric, value in delta.items():
                row[metric] = row.get(metric, 0) - value
        for unit_id, at_start in level.items():
            carried = sum(at_start.get(m, 0) for m in _OPEN)
            if carried:
                asked.setdefault(unit_id, {})["carried_over"] = carried
    return rows


def predecessors(registry: Registry, unit_id: str) -> tuple[str, ...]:
    """Every unit whose chain of successors leads to ``unit_id``, nearest first (then by
    the day it went out of force, latest first, then id)."""
    registry.unit(unit_id)  # KeyError naming an unknown id
    before: dict[str, list[str]] = {}
    for unit in registry.units.values():
        if unit.successor_id is not None:
            before.setdefault(unit.successor_id, []).append(unit.unit_id)

    def order(u: str) -> tuple[int, str]:
        valid_to = registry.unit(u).valid_to
        return (-(valid_to.toordinal() if valid_to else 0), u)

    found: list[str] = []
    frontier = [unit_id]
    while frontier:
        # Successions are checked acyclic in time (a successor is in force when its
        # predecessor ends), but a visited set costs nothing and guards the loop.
        step = sorted({p for u in frontier for p in before.get(u, ()) if p not in found}, key=order)
        step = [p for p in step if p != unit_id]
        found.extend(step)
        frontier = step
    return tuple(found)


def _sum(rows: Mapping[str, Row], members: Sequence[str]) -> dict[str, int]:
    total: dict[str, int] = {}
    for member in members:
        for metric, value in rows.get(member, {}).items():
            total[metric] = total.get(metric, 0) + value
    return total


def _measure(figure: TrendFigure, row: Mapping[str, int]) -> tuple[int, int | None]:
    """(count or numerator, denominator or None)."""
    measured = figure.measure(_entry(row))
    if isinstance(measured, figures.Rate):
        return measured.numerator, measured.denominator
    return measured, None


def _point(
    period: str,
    figure: TrendFigure,
    total: Mapping[str, int],
    summed_from: tuple[str, ...] = (),
    in_force: bool = True,
) -> TrendPoint:
    value, denominator = _measure(figure, total)
    if denominator is None:
        return TrendPoint(period, value, summed_from=summed_from, in_force=in_force)
    rate = figures.Rate(value, denominator).value
    return TrendPoint(
        period,
        None if rate is None else round(rate, 4),
        value,
        denominator,
        summed_from,
        in_force,
    )


def _days(scheme: PeriodScheme, period: str) -> tuple[date, date]:
    start, end = scheme.bounds(period)
    return start.astimezone(scheme.tz).date(), end.astimezone(scheme.tz).date()


def unit_trend(
    registry: Registry,
    scheme: PeriodScheme,
    rows: Mapping[str, Mapping[str, Row]],
    unit_id: str,
    figure: TrendFigure,
) -> Trend:
    """The unit's figure (rolled up over its subtree, as in a snapshot) plus its
    predecessors', in every period of ``rows`` (from :func:`period_rows`)."""
    periods = list(rows)
    _check_consecutive(periods)
    older = predecessors(registry, unit_id)
    own = registry.subtree(unit_id)
    seen = set(own)
    subtrees: list[tuple[str, tuple[str, ...]]] = []
    for predecessor in older:
        # A predecessor inside the unit's own subtree (or another's) is counted once.
        members = tuple(m for m in registry.subtree(predecessor) if m not in seen)
        seen.update(members)
        subtrees.append((predecessor, members))
    points = []
    for period in periods:
        period_rows_ = rows[period]
        total = _sum(period_rows_, own)
        used: list[str] = []
        for predecessor, members in subtrees:
            part = _sum(period_rows_, members)
            if any(_measure(figure, part)):
                used.append(predecessor)
                for metric, value in part.items():
                    total[metric] = total.get(metric, 0) + value
        points.append(
            _point(
                period,
                figure,
                total,
                tuple(used),
                registry.in_force_during(unit_id, *_days(scheme, period)),
            )
        )
    return Trend(unit_id, figure, tuple(points), older)


def province_trend(
    registry: Registry, rows: Mapping[str, Mapping[str, Row]], figure: TrendFigure
) -> Trend:
    """The sum of every report row (top-level unit) in each period. A row not listed in
    a period (out of force, nothing counted) adds nothing, so no lineage is needed:
    the province's figures are the same whichever unit did the work."""
    periods = list(rows)
    _check_consecutive(periods)
    members = [m for top in registry.top_level() for m in registry.subtree(top)]
    points = tuple(_point(p, figure, _sum(rows[p], members)) for p in periods)
    return Trend(PROVINCE, figure, points)


def summed_note(names: Sequence[str]) -> str:
    """The sentence a view prints under a trend that sums predecessors ('' if none)."""
    if not names:
        return ""
    return "Gồm số liệu của đơn vị tiền nhiệm: " + ", ".join(names)
