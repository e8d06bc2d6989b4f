"""A dossier's contribution to the per-unit, per-period counters of the report.

Each dossier contributes a small map ``(period, unit, metric) -> count``. The store
keeps the contribution it last applied for every dossier and, when a new event
arrives, applies only the difference to the shared counters. Counters therefore
always equal the sum of the current contributions, whatever the arrival order.

Two kinds of metric:

* *flow* metrics count things that happened in a period (``received_online``, …);
* *level* metrics (suffix ``_delta``) are changes of a state indicator, placed in
  the period of the change; the state at the end of a period is the sum of the
  changes of that period and all earlier ones (see :mod:`tthc_monitor.core.snapshot`).
  That keeps a dossier that stays open forever to a finite contribution.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from schemas.events import Digitized, DossierEvent, Paid, Received
from schemas.reference import Procedure
from tthc_monitor.core.periods import PeriodScheme
from tthc_monitor.core.timeline import Handover, Timeline

GLOBAL_PERIOD = "all"

FLOW_METRICS: tuple[str, ...] = (
    "received_online",
    "received_direct",
    "received_interagency",
    "resolved_early",
    "resolved_on_time",
    "resolved_late",
    "late_as_initial",
    "late_as_interagency",
    "apologized",
    "extended",
    "withdrawn",
    "transferred_out",
    "dig_received",
    "dig_with_components",
    "dig_fully",
    "dig_resolved",
    "dig_results",
    "fee_dossiers",
    "paid_national_portal",
    "paid_one_stop",
    "paid_offline",
    # Land appendix (PL4): land dossiers with an inter-agency stage, at their owner.
    "land_received",
    "land_resolved_on_time",
    "land_resolved_late",
    "land_late_at_commune",
    "land_late_at_district",
    "land_late_at_natural_resources",
    "land_late_at_construction",
    "land_late_at_tax",
    # Registry versions: open work (owned dossiers, held inter-agency stages) passed on
    # by a succession, at the unit that went out of force and at its successor.
    "handed_over_out",
    "handed_over_in",
)
LEVEL_METRICS: tuple[str, ...] = (
    "open_delta",
    "interagency_open_delta",
    "overdue_delta",
    "land_open_delta",
    "land_overdue_delta",
)
LAND_SECTOR = "Đất đai"
# PL4's "late at ..." columns by the kind of the unit that held the late stage; a
# land-registration branch counts as the Department of Natural Resources.
LAND_STAGE_COLUMNS: dict[str, str] = {
    "commune_one_stop": "commune",
    "commune_committee": "commune",
    "district_one_stop": "district",
    "district_committee": "district",
    "land_branch": "natural_resources",
    "natural_resources_department": "natural_resources",
    "construction_department": "construction",
    "tax": "tax",
}
GLOBAL_METRICS: tuple[str, ...] = (
    "dossiers",
    "orphan_dossiers",
    "orphan_events",
    "refused_events",
)

Contribution = dict[str, int]


class _Adder(Protocol):
    def __call__(self, at: datetime, unit_id: str, metric: str, amount: int = 1) -> None: ...


DAY_PREFIX = "d"
DAY_METRICS: tuple[str, ...] = ("day_received", "day_resolved")


def day_bucket(instant: datetime, rules: CounterRules) -> str:
    """The counter bucket of a local day, e.g. ``d2022-03-21`` (sorts after periods)."""
    return DAY_PREFIX + instant.astimezone(rules.periods.tz).date().isoformat()


def counter_key(period: str, unit_id: str, metric: str) -> str:
    return f"{period}|{unit_id}|{metric}"


def split_key(key: str) -> tuple[str, str, str]:
    period, unit_id, metric = key.split("|")
    return period, unit_id, metric


@dataclass(frozen=True)
class CounterRules:
    """What the counting rules need besides the events: periods and the catalog."""

    periods: PeriodScheme
    procedures: Mapping[str, Procedure]
    unit_kinds: Mapping[str, str]
    """unit_id -> kind, for the land appendix's late-stage columns."""


def contribution(timeline: Timeline, rules: CounterRules) -> Contribution:
    """The dossier's contribution; zero entries are left out."""
    counts: Counter[str] = Counter()
    if timeline.received is None:
        counts[counter_key(GLOBAL_PERIOD, "", "orphan_dossiers")] += 1
        counts[counter_key(GLOBAL_PERIOD, "", "orphan_events")] += len(timeline.held)
        return dict(counts)

    period_of = rules.periods.period_of
    received = timeline.received
    # Figures stay with the unit that did the work: reception at the receiving unit,
    # the close at the owner then (its successor after a succession).
    owner = received.unit_id
    final_owner = timeline.owner or owner
    moves = tuple(h for h in timeline.handovers if h.kind == "owner")
    procedure = rules.procedures[received.procedure_id]
    received_period = period_of(received.occurred_at)

    # A dossier adds ~10 figures at a handful of instants (reception, close, stage ends):
    # each instant's period is looked up once (period_of converts to local time).
    period_at: dict[datetime, str] = {}

    def add(at: datetime, unit_id: str, metric: str, amount: int = 1) -> None:
        period = period_at.get(at)
        if period is None:
            period = period_at[at] = period_of(at)
        counts[f"{period}|{unit_id}|{metric}"] += amount

    counts[counter_key(GLOBAL_PERIOD, "", "dossiers")] += 1
    if timeline.refused:
        counts[counter_key(GLOBAL_PERIOD, "", "refused_events")] += len(timeline.refused)

    channel = "received_online" if received.channel == "online" else "received_direct"
    add(received.occurred_at, owner, channel)
    # Day buckets feed the wall's "today" figures; snapshots never read them.
    counts[counter_key(day_bucket(received.occurred_at, rules), owner, "day_received")] += 1
    if timeline.close_type == "resolved" and timeline.closed_at is not None:
        bucket = day_bucket(timeline.closed_at, rules)
        counts[counter_key(bucket, final_owner, "day_resolved")] += 1
    add(received.occurred_at, owner, "open_delta", 1)
    _move_level(add, moves, "open_delta", 1)
    if timeline.closed_at is not None:
        add(timeline.closed_at, final_owner, "open_delta", -1)
        if timeline.close_type == "withdrawn":
            add(timeline.closed_at, final_owner, "withdrawn")
        elif timeline.resolution is not None:
            add(timeline.closed_at, final_owner, f"resolved_{timeline.resolution}")
    _owner_levels(add, timeline.overdue_changes, owner, moves, "overdue_delta")
    for handover in timeline.handovers:
        add(handover.at, handover.from_unit, "handed_over_out")
        add(handover.at, handover.to_unit, "handed_over_in")

    for index, stage in enumerate(timeline.stages):
        if stage.interagency:
            add(stage.start, stage.received_by, "received_interagency")
            add(stage.start, stage.received_by, "interagency_open_delta", 1)
            _move_level(
                add,
                [h for h in timeline.handovers if h.kind == "interagency" and h.stage == index],
                "interagency_open_delta",
                1,
            )
            if stage.end is not None:
                add(stage.end, stage.unit_id, "interagency_open_delta", -1)
        if stage.end is not None and stage.finished and stage.timeliness is not None:
            if stage.interagency:
                add(stage.end, stage.unit_id, f"resolved_{stage.timeliness}")
            if stage.timeliness == "late":
                metric = "late_as_interagency" if stage.interagency else "late_as_initial"
                add(stage.end, stage.unit_id, metric)

    if procedure.sector == LAND_SECTOR and any(s.interagency for s in timeline.stages):
        _count_land(timeline, rules, add)
    _count_events(timeline.counted, add)
    _count_digitization(timeline, procedure, received, rules, counts, received_period)
    _count_fees(timeline, procedure, owner, rules, counts, received_period)
    return {key: value for key, value in counts.items() if value}


def _move_level(add: _Adder, moves: Iterable[Handover], metric: str, level: int) -> None:
    """A state indicator worth ``level`` follows each succession to the successor."""
    for move in moves:
        add(move.at, move.from_unit, metric, -level)
        add(move.at, move.to_unit, metric, level)


def _owner_levels(
    add: _Adder,
    changes: Iterable[tuple[datetime, int]],
    first_owner: str,
    moves: tuple[Handover, ...],
    metric: str,
) -> None:
    """Place an owner indicator's changes at the owner of their instant, and move the
    level reached before each succession to the successor (a change at the succession's
    instant already belongs to the successor: it applies after that instant)."""
    owner, level, pending = first_owner, 0, list(moves)
    for at, delta in changes:
        while pending and pending[0].at <= at:
            move = pending.pop(0)
            _move_level(add, (move,), metric, level)
            owner = move.to_unit
        add(at, owner, metric, delta)
        level += delta
    _move_level(add, pending, metric, level)


def _count_land(timeline: Timeline, rules: CounterRules, add: _Adder) -> None:
    assert timeline.received is not None
    owner = timeline.received.unit_id
    final_owner = timeline.owner or owner
    moves = tuple(h for h in timeline.handovers if h.kind == "owner")
    add(timeline.received.occurred_at, owner, "land_received")
    add(timeline.received.occurred_at, owner, "land_open_delta", 1)
    _move_level(add, moves, "land_open_delta", 1)
    if timeline.closed_at is not None:
        add(timeline.closed_at, final_owner, "land_open_delta", -1)
        if timeline.resolution is not None:
            on_time = timeline.resolution != "late"
            add(
                timeline.closed_at,
                final_owner,
                "land_resolved_on_time" if on_time else "land_resolved_late",
            )
    _owner_levels(add, timeline.overdue_changes, owner, moves, "land_overdue_delta")
    for stage in timeline.stages:
        if stage.end is not None and stage.timeliness == "late":
            column = LAND_STAGE_COLUMNS.get(rules.unit_kinds.get(stage.unit_id, ""))
            if column:
                add(stage.end, owner, f"land_late_at_{column}")


def _count_events(events: tuple[DossierEvent, ...], add: _Adder) -> None:
    for event in events:
        if event.type == "apologized":
            add(event.occurred_at, event.unit_id, "apologized")
        elif event.type == "extended":
            add(event.occurred_at, event.unit_id, "extended")
        elif event.type == "transferred":
            add(event.occurred_at, event.unit_id, "transferred_out")


def _count_digitization(
    timeline: Timeline,
    procedure: Procedure,
    received: Received,
    rules: CounterRules,
    counts: Counter[str],
    received_period: str,
) -> None:
    owner = received.unit_id
    digitized = [e for e in timeline.counted if isinstance(e, Digitized)]
    if procedure.digitize_components:
        end = rules.periods.end(received_period)
        components = [e for e in digitized if e.target == "components" and e.occurred_at < end]
        counts[counter_key(received_period, owner, "dig_received")] += 1
        if components:
            counts[counter_key(received_period, owner, "dig_with_components")] += 1
        if any(e.complete for e in components):
            counts[counter_key(received_period, owner, "dig_fully")] += 1
    if (
        procedure.digitize_results
        and timeline.close_type == "resolved"
        and timeline.closed_at is not None
    ):
        resolved_period = rules.periods.period_of(timeline.closed_at)
        end = rules.periods.end(resolved_period)
        closer = timeline.owner or owner
        counts[counter_key(resolved_period, closer, "dig_resolved")] += 1
        if any(e.target == "result" and e.occurred_at < end for e in digitized):
            counts[counter_key(resolved_period, closer, "dig_results")] += 1


def _count_fees(
    timeline: Timeline,
    procedure: Procedure,
    owner: str,
    rules: CounterRules,
    counts: Counter[str],
    received_period: str,
) -> None:
    if not procedure.has_fee:
        return  # PL5/PL6 cover fee-bearing procedures only
    counts[counter_key(received_period, owner, "fee_dossiers")] += 1
    # Payments count dossiers, not payments: one per dossier, channel and period, at
    # the owner when paid.
    paid = {
        (rules.periods.period_of(e.occurred_at), e.channel, timeline.owner_at(e.occurred_at))
        for e in timeline.counted
        if isinstance(e, Paid)
    }
    for period, channel, payee in paid:
        counts[counter_key(period, payee or owner, f"paid_{channel}")] += 1


def diff(old: Mapping[str, int], new: Mapping[str, int]) -> dict[str, int]:
    """What to add to the counters to go from ``old`` to ``new``."""
    changes = {key: new.get(key, 0) - old.get(key, 0) for key in old.keys() | new.keys()}
    return {key: delta for key, delta in changes.items() if delta}
