"""Reading a snapshot: its period, its units' figures, and integer fields checked."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from tthc_monitor.report.model import Period, ReportError

__all__ = ["Figures", "int_figure", "snapshot_period", "snapshot_units", "unit_entry"]


def snapshot_period(snapshot: Mapping[str, Any]) -> Period:
    try:
        start = datetime.fromisoformat(str(snapshot["start"]))
        end = datetime.fromisoformat(str(snapshot["end"]))
        name = str(snapshot["period"])
        months = int(snapshot.get("months", 1))
    except (KeyError, ValueError) as exc:
        raise ReportError(f"snapshot without a valid period/start/end: {exc}") from exc
    # `end` is exclusive (midnight after the last day): the last day printed is the day before.
    return Period(name, months, start.date(), (end - timedelta(microseconds=1)).date())


Figures = Mapping[str, Any]


def snapshot_units(snapshot: Mapping[str, Any]) -> dict[str, Figures]:
    units = snapshot.get("units")
    if not isinstance(units, list):
        raise ReportError("snapshot has no 'units' list")
    return {str(u["unit_id"]): u for u in units}


def int_figure(entry: Figures, *path: str) -> int:
    value: Any = entry
    for part in path:
        value = value.get(part, 0) if isinstance(value, Mapping) else 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise ReportError(f"unit {entry.get('unit_id')!r}: {'.'.join(path)} is not an integer")
    return value


def unit_entry(units: Mapping[str, Figures], unit_id: str) -> Figures:
    try:
        return units[unit_id]
    except KeyError:
        raise ReportError(f"unit {unit_id!r} is not in the snapshot") from None
