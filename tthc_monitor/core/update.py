"""The per-dossier update step: stored state + incoming events -> new state + deltas.

Pure, so that the Redis store and the property tests run exactly the same code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from schemas.events import EVENT_ADAPTER, DossierEvent
from tthc_monitor.core.alerts import Alert, plan_alerts
from tthc_monitor.core.counters import Contribution, diff
from tthc_monitor.core.engine import Engine
from tthc_monitor.core.timeline import Armed, Refusal

# Free text is never needed for counting and may carry what the contract forbids.
NOT_STORED = frozenset({"reason"})

StoredEvent = dict[str, Any]


def encode_event(event: DossierEvent) -> StoredEvent:
    return event.model_dump(mode="json", exclude_none=True, exclude=set(NOT_STORED))


@dataclass(frozen=True)
class DossierUpdate:
    events: list[StoredEvent]
    """The dossier's whole deduplicated event list, as stored."""
    contribution: Contribution
    changes: dict[str, int]
    """What to add to the shared counters."""
    fresh_ids: tuple[str, ...]
    """Ids of the events this update adds."""
    duplicates: int
    refused: tuple[Refusal, ...]
    """Refusals of the fresh events (out of sequence)."""
    alerts: tuple[Alert, ...] = ()
    """The whole alert plan of the dossier's known history (empty when nothing is new:
    no write, so nothing to reschedule)."""
    running: tuple[Armed, ...] = ()
    """The spans still running (open and not paused): what the per-unit due index holds."""
    closed_at: datetime | None = None
    """When the dossier was resolved or withdrawn (None while open, or when nothing is
    new): with no span running, it is a candidate for compaction (store/retention.py)."""


def plan_update(
    engine: Engine,
    dossier_id: str,
    stored_events: Sequence[StoredEvent],
    stored_contribution: Mapping[str, int],
    incoming: Sequence[DossierEvent],
    alerts_not_before: datetime | None = None,
) -> DossierUpdate:
    """``alerts_not_before``: alerts firing before it may be left out of the plan (the
    store passes it when none of the dossier's alerts are scheduled: see plan_alerts)."""
    known = {e["event_id"]: e for e in stored_events}
    fresh: dict[str, DossierEvent] = {}
    duplicates = 0
    for event in incoming:
        if event.event_id in known or event.event_id in fresh:
            duplicates += 1
        else:
            fresh[event.event_id] = event
    if not fresh:
        return DossierUpdate(
            list(known.values()), dict(stored_contribution), {}, (), duplicates, ()
        )
    events = [EVENT_ADAPTER.validate_python(e) for e in known.values()]
    events.extend(fresh.values())
    timeline, new = engine.evaluate(dossier_id, events)
    return DossierUpdate(
        events=list(known.values()) + [encode_event(e) for e in fresh.values()],
        contribution=new,
        changes=diff(stored_contribution, new),
        fresh_ids=tuple(fresh),
        duplicates=duplicates,
        refused=tuple(r for r in timeline.refused if r.event_id in fresh),
        alerts=tuple(plan_alerts(timeline, engine.alert_rules, alerts_not_before)),
        running=tuple(span for span in timeline.armed if span.end is None),
        closed_at=timeline.closed_at,
    )
