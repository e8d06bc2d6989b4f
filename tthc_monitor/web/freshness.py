"""Whether the wall's figures are fresh, and the most overdue spans as the wall lists them.

Pure: the reads are in ``tthc_monitor/store/freshness.py`` and ``store/overdue.py``.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from tthc_monitor.core.calendar import WorkingCalendar
from tthc_monitor.reference.registry import Registry
from tthc_monitor.store.freshness import Freshness
from tthc_monitor.store.overdue import OverdueSpan

STALE_AFTER = timedelta(minutes=15)
"""Age of the latest event beyond which the wall dims its figures during working hours.
A province's one-stop offices send events every few seconds while open (the April 2022
month: about 180,000 events over 22 working days, one every 4 s on average), so a
quarter of an hour without one means the pipeline, not the offices, has stopped; it is
also the pipeline-health rule's "nothing applied for 15 min" (docs/operations.md)."""
OFFICE_OPEN = time(7, 0)
OFFICE_CLOSE = time(17, 0)
"""Working hours in which silence means staleness (Vietnam time). Outside them, and on
days off of the working calendar (holidays, weekends; compensating Saturdays are
working days), no event for hours is normal and the wall does not warn."""
OVERDUE_LIMIT = 10
"""Spans in the wall's overdue list: what a 1080-pixel-high panel shows legibly."""


def in_working_hours(now: datetime, calendar: WorkingCalendar) -> bool:
    local = now.astimezone(calendar.tz)
    return calendar.is_working_day(local.date()) and OFFICE_OPEN <= local.time() < OFFICE_CLOSE


def freshness_document(
    freshness: Freshness, now: datetime, calendar: WorkingCalendar
) -> dict[str, Any]:
    """The data's time, its age at ``now`` and whether the wall must warn."""
    working = in_working_hours(now, calendar)
    event_at = freshness.event_at
    age = None if event_at is None else max(0.0, (now - event_at).total_seconds())
    # No record at all during working hours is stale too: nothing says the data is live.
    stale = working and (age is None or age > STALE_AFTER.total_seconds())
    return {
        "event_at": None if event_at is None else event_at.isoformat(),
        "applied_at": None if freshness.applied_at is None else freshness.applied_at.isoformat(),
        "age_seconds": None if age is None else round(age, 1),
        "stale": stale,
        "working_hours": working,
        "stale_after_minutes": int(STALE_AFTER.total_seconds() // 60),
        "as_of": now.isoformat(),
    }


def overdue_document(
    spans: list[OverdueSpan], registry: Registry, calendar: WorkingCalendar, now: datetime
) -> list[dict[str, Any]]:
    """Each span with its unit's name and how late it is: working days after the due
    date up to today (today counted), or hours when the due was earlier today."""
    today = calendar.local_date(now)
    rows = []
    for span in spans:
        due_day = calendar.local_date(span.due_at)
        unit = registry.units.get(span.unit_id)
        rows.append(
            {
                "dossier_id": span.dossier_id,
                "stage": span.stage,
                "unit_id": span.unit_id,
                "unit_name": unit.name if unit is not None else span.unit_id,
                "due_at": span.due_at.isoformat(),
                "overdue_working_days": calendar.working_days_in(due_day, today),
                "overdue_hours": round((now - span.due_at).total_seconds() / 3600, 1),
            }
        )
    return rows
