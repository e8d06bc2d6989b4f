"""A period's figures per unit, rolled up over the registry, from the raw counters."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from tthc_monitor.core.counters import FLOW_METRICS, LEVEL_METRICS
from tthc_monitor.core.periods import PeriodScheme, shift_period
from tthc_monitor.reference.registry import Registry

# Counters of one period: "unit|metric" -> value.
PeriodCounters = Mapping[str, int]

SNAPSHOT_FIELDS: tuple[str, ...] = (
    "received_online",
    "received_direct",
    "received_interagency",
    "carried_over",
    "resolved_early",
    "resolved_on_time",
    "resolved_late",
    "late_as_initial",
    "late_as_interagency",
    "apologized",
    "extended",
    "withdrawn",
    "in_progress_within",
    "in_progress_overdue",
    "handed_over_in",
    "handed_over_out",
)
DIGITIZATION_FIELDS = {
    "received": "dig_received",
    "with_components": "dig_with_components",
    "fully": "dig_fully",
    "resolved": "dig_resolved",
    "results": "dig_results",
}
FEE_EVENT_FIELDS = {
    "dossiers": "fee_dossiers",
    "paid_national_portal": "paid_national_portal",
    "recorded_one_stop": "paid_one_stop",
}


LAND_FIELDS = {
    "received_new": "land_received",
    "resolved_on_time": "land_resolved_on_time",
    "resolved_late": "land_resolved_late",
    "late_at_commune": "land_late_at_commune",
    "late_at_district": "land_late_at_district",
    "late_at_natural_resources": "land_late_at_natural_resources",
    "late_at_construction": "land_late_at_construction",
    "late_at_tax": "land_late_at_tax",
}
# Every field of a snapshot entry's `land` object.
LAND_SNAPSHOT_FIELDS: tuple[str, ...] = (
    *LAND_FIELDS,
    "carried_over",
    "in_progress_within",
    "in_progress_overdue",
)


def unit_figures(
    period: str,
    counters: Mapping[str, PeriodCounters],
    first: str | None = None,
    totals: PeriodCounters | None = None,
) -> dict[str, dict[str, int]]:
    """Each unit's own figures (not rolled up): flows of the periods ``first``..``period``
    (one period by default), levels at the start of ``first`` and the end of ``period``.

    Without ``totals``, ``counters`` holds every period up to ``period``: a level is the
    sum of its changes up to there. With ``totals`` (each field summed over every period,
    ``{ns}:totals``), ``counters`` needs only the periods from ``first`` on: the level at
    the end of ``period`` is the total minus the changes of the periods after it."""
    first = first or period
    figures: dict[str, dict[str, int]] = {}

    def bucket(unit_id: str) -> dict[str, int]:
        return figures.setdefault(unit_id, {})

    def add(row: dict[str, int], name: str, value: int) -> None:
        row[name] = row.get(name, 0) + value

    if totals is not None:
        for field, value in totals.items():
            unit_id, metric = field.split("|", 1)
            if metric in LEVEL_METRICS:
                row = bucket(unit_id)
                add(row, f"end:{metric}", value)
                add(row, f"start:{metric}", value)
    for name, values in counters.items():
        if totals is None and name > period:
            continue
        for field, value in values.items():
            unit_id, metric = field.split("|", 1)
            if first <= name <= period and metric in FLOW_METRICS:
                add(bucket(unit_id), metric, value)
            elif metric in LEVEL_METRICS:
                row = bucket(unit_id)
                if totals is None:
                    # Levels at the end of the period sum every change up to it; the
                    # carried-over figure is the level at its start (changes before it).
                    add(row, f"end:{metric}", value)
                    if name < first:
                        add(row, f"start:{metric}", value)
                elif name > period:
                    # From the totals: take off what changed after the end...
                    add(row, f"end:{metric}", -value)
                    add(row, f"start:{metric}", -value)
                elif name >= first:
                    # ... and, for the start, what changed within the covered periods.
                    add(row, f"start:{metric}", -value)
    return figures


def _row(own: Mapping[str, int]) -> dict[str, int]:
    open_end = own.get("end:open_delta", 0)
    overdue_end = own.get("end:overdue_delta", 0)
    row = {metric: own.get(metric, 0) for metric in FLOW_METRICS}
    row["carried_over"] = own.get("start:open_delta", 0) + own.get(
        "start:interagency_open_delta", 0
    )
    row["in_progress_overdue"] = overdue_end
    row["in_progress_within"] = open_end - overdue_end
    land_open = own.get("end:land_open_delta", 0)
    land_overdue = own.get("end:land_overdue_delta", 0)
    row["land_carried_over"] = own.get("start:land_open_delta", 0)
    row["land_in_progress_overdue"] = land_overdue
    row["land_in_progress_within"] = land_open - land_overdue
    return row


def build_snapshot(
    period: str,
    scheme: PeriodScheme,
    registry: Registry,
    counters: Mapping[str, PeriodCounters],
    as_of: datetime,
    months: int = 1,
    totals: PeriodCounters | None = None,
) -> dict[str, Any]:
    """The snapshot document of docs/snapshot.md (integers only, rolled up).

    ``months`` > 1 covers the union of that many periods ending with ``period`` (the
    land appendix covers three). With ``totals`` (see :func:`unit_figures`),
    ``counters`` needs only the periods from the first covered one on.
    """
    first = shift_period(period, 1 - months)
    own = unit_figures(period, counters, first, totals)
    rows = {unit_id: _row(own.get(unit_id, {})) for unit_id in registry.units}
    start, end = scheme.start(first), scheme.end(period)
    first_day, end_day = start.astimezone(scheme.tz).date(), end.astimezone(scheme.tz).date()
    units: list[dict[str, Any]] = []
    for unit_id, unit in registry.units.items():
        total: dict[str, int] = {}
        for member in registry.subtree(unit_id):
            for key, value in rows[member].items():
                total[key] = total.get(key, 0) + value
        # Registry versions: a unit is listed while in force in the period, or when it
        # has a figure in it (open work left at a unit out of force, for one).
        if not registry.in_force_during(unit_id, first_day, end_day) and not any(total.values()):
            continue
        procedures = [p for m in registry.subtree(unit_id) for p in registry.procedures_of(m)]
        entry: dict[str, Any] = {
            "unit_id": unit_id,
            "name": unit.name,
            "parent_id": unit.parent_id,
        }
        entry.update({name: total.get(name, 0) for name in SNAPSHOT_FIELDS})
        entry["digitization"] = {k: total.get(v, 0) for k, v in DIGITIZATION_FIELDS.items()}
        fees = {k: total.get(v, 0) for k, v in FEE_EVENT_FIELDS.items()}
        fees["procedures"] = sum(1 for p in procedures if p.has_fee)
        fees["online_payment_procedures"] = sum(
            1 for p in procedures if p.has_fee and p.online_payment
        )
        entry["fees"] = fees
        land = {k: total.get(v, 0) for k, v in LAND_FIELDS.items()}
        land["carried_over"] = total.get("land_carried_over", 0)
        land["in_progress_within"] = total.get("land_in_progress_within", 0)
        land["in_progress_overdue"] = total.get("land_in_progress_overdue", 0)
        entry["land"] = land
        units.append(entry)
    return {
        "period": period,
        "months": months,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "as_of": as_of.isoformat(),
        "units": units,
    }
