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
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from schemas.events import Digitized, DossierEvent, Paid, Received
from schemas.reference import Procedure
from tthc_monitor.core.periods import PeriodScheme
from tthc_monitor.core.timeline import Timeline

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
    owner = received.unit_id
    procedure = rules.procedures[received.procedure_id]
    received_period = period_of(received.occurred_at)

    def add(at: datetime, unit_id: str, metric: str, amount: int = 1) -> None:
        counts[counter_key(period_of(at), unit_id, metric)] += amount

    counts[counter_key(GLOBAL_PERIOD, "", "dossiers")] += 1
    if timeline.refused:
        counts[counter_key(GLOBAL_PERIOD, "", "refused_events")] += len(timeline.refused)

    channel = "received_online" if received.channel == "online" else "received_direct"
    add(received.occurred_at, owner, channel)
    # Day buckets feed the wall's "today" figures; snapshots never read them.
    counts[counter_key(day_bucket(received.occurred_at, rules), owner, "day_received")] += 1
    if timeline.close_type == "resolved" and timeline.closed_at is not None:
        counts[counter_key(day_bucket(timeline.closed_at, rules), owner, "day_resolved")] += 1
    add(received.occurred_at, owner, "open_delta", 1)
    if timeline.closed_at is not None:
        add(timeline.closed_at, owner, "open_delta", -1)
        if timeline.close_type == "withdrawn":
            add(timeline.closed_at, owner, "withdrawn")
        elif timeline.resolution is not None:
            add(timeline.closed_at, owner, f"resolved_{timeline.resolution}")
    for at, delta in timeline.overdue_changes:
        add(at, owner, "overdue_delta", delta)

    for stage in timeline.stages:
        if stage.interagency:
            add(stage.start, stage.unit_id, "received_interagency")
            add(stage.start, stage.unit_id, "interagency_open_delta", 1)
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
    _count_fees(timeline.counted, procedure, received, owner, rules, counts, received_period)
    return {key: value for key, value in counts.items() if value}


def _count_land(timeline: Timeline, rules: CounterRules, add: _Adder) -> None:
    assert timeline.received is not None
    owner = timeline.received.unit_id
    add(timeline.received.occurred_at, owner, "land_received")
    add(timeline.received.occurred_at, owner, "land_open_delta", 1)
    if timeline.closed_at is not None:
        add(timeline.closed_at, owner, "land_open_delta", -1)
        if timeline.resolution is not None:
            on_time = timeline.resolution != "late"
            add(
                timeline.closed_at,
                owner,
                "land_resolved_on_time" if on_time else "land_resolved_late",
            )
    for at, delta in timeline.overdue_changes:
        add(at, owner, "land_overdue_delta", delta)
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
        counts[counter_key(resolved_period, owner, "dig_resolved")] += 1
        if any(e.target == "result" and e.occurred_at < end for e in digitized):
            counts[counter_key(resolved_period, owner, "dig_results")] += 1


def _count_fees(
    events: tuple[DossierEvent, ...],
    procedure: Procedure,
    received: Received,
    owner: str,
    rules: CounterRules,
    counts: Counter[str],
    received_period: str,
) -> None:
    if not procedure.has_fee:
        return  # PL5/PL6 cover fee-bearing procedures only
    counts[counter_key(received_period, owner, "fee_dossiers")] += 1
    # Payments count dossiers, not payments: one per dossier, channel and period.
    paid = {
        (rules.periods.period_of(e.occurred_at), e.channel) for e in events if isinstance(e, Paid)
    }
    for period, channel in paid:
        counts[counter_key(period, owner, f"paid_{channel}")] += 1


def diff(old: Mapping[str, int], new: Mapping[str, int]) -> dict[str, int]:
    """What to add to the counters to go from ``old`` to ``new``."""
    changes = {key: new.get(key, 0) - old.get(key, 0) for key in old.keys() | new.keys()}
    return {key: delta for key, delta in changes.items() if delta}
