"""The per-dossier update step: stored state + incoming events -> new state + deltas.

Pure, so that the Redis store and the property tests run exactly the same code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, get_args

from pydantic import AwareDatetime, BaseModel

from schemas.events import DossierEvent
from tthc_monitor.core.alerts import Alert, plan_alerts
from tthc_monitor.core.counters import Contribution, diff
from tthc_monitor.core.engine import Engine
from tthc_monitor.core.timeline import UNSEQUENCED_TYPES, Armed, Refusal

# Free text is never needed for counting and may carry what the contract forbids.
NOT_STORED = frozenset({"reason"})

StoredEvent = dict[str, Any]

PLAN_NEUTRAL_TYPES = UNSEQUENCED_TYPES - {"apologized"}
"""Events that cannot change a dossier's alert plan: the fold walks past them (no
span, due, stage or handover moves) and the plan reads no event but apologies. A write
of these alone keeps the plan it had (``DossierUpdate.alerts_kept``)."""


def encode_event(event: DossierEvent) -> StoredEvent:
    return event.model_dump(mode="json", exclude_none=True, exclude=set(NOT_STORED))


def _event_classes() -> dict[str, type[BaseModel]]:
    """Event type -> model class, read from the contract's union."""
    union = get_args(DossierEvent)[0]
    return {get_args(cls.model_fields["type"].annotation)[0]: cls for cls in get_args(union)}


def _holds_timestamp(annotation: Any) -> bool:
    """Whether a field's annotation is a timestamp (also inside Optional, Annotated)."""
    if annotation is AwareDatetime or annotation is datetime:
        return True
    return any(_holds_timestamp(inner) for inner in get_args(annotation))


_CLASSES = _event_classes()
_TIMESTAMPS: dict[type[BaseModel], tuple[str, ...]] = {
    cls: tuple(name for name, f in cls.model_fields.items() if _holds_timestamp(f.annotation))
    for cls in _CLASSES.values()
}
_DEFAULTS: dict[type[BaseModel], dict[str, Any]] = {
    cls: {name: f.default for name, f in cls.model_fields.items() if not f.is_required()}
    for cls in _CLASSES.values()
}
_new = object.__new__
_set = object.__setattr__


def decode_event(stored: StoredEvent) -> DossierEvent:
    """A stored event back as its model, without validating it again.

    Stored events were validated when first accepted and written by ``encode_event``
    alone, so re-running the contract's validators on every write (pydantic's
    ``validate_python``, ~7 µs an event) only repeats that verdict. This sets what
    ``BaseModel.model_construct`` sets, in half the time of validating (model_construct
    itself is slower than validating). Timestamps (the fields typed as datetimes) are
    parsed by ``datetime.fromisoformat`` from the RFC 3339 text pydantic wrote: equal
    instants with the same offset, so the fold cannot tell them apart
    (tests/unit/test_fast_paths.py checks every field against ``validate_python``).
    """
    cls = _CLASSES[stored["type"]]
    values = dict(stored)
    for name in _TIMESTAMPS[cls]:
        text = values.get(name)
        if text is not None:
            values[name] = datetime.fromisoformat(text)
    fields_set = set(values)
    for name, default in _DEFAULTS[cls].items():
        if name not in values:
            values[name] = default
    event = _new(cls)
    _set(event, "__dict__", values)
    _set(event, "__pydantic_fields_set__", fields_set)
    _set(event, "__pydantic_extra__", None)
    _set(event, "__pydantic_private__", None)
    result: DossierEvent = event  # type: ignore[assignment]
    return result


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
    no write, so nothing to reschedule; and when ``alerts_kept``)."""
    alerts_kept: bool = False
    """The fresh events are all PLAN_NEUTRAL_TYPES: the plan is the one the stored state
    was written with, so it is not computed again (~40 µs a write) and the store keeps
    what the dossier has scheduled (tests/unit/test_fast_paths.py). Exact while the alert
    configuration (leads, horizon) is unchanged and the clock does not go back; after a
    change of configuration the dossier's next other event plans afresh."""
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
    may_keep_plan: bool = True,
) -> DossierUpdate:
    """``alerts_not_before``: alerts firing before it may be left out of the plan (the
    store passes it when none of the dossier's alerts are scheduled: see plan_alerts).
    ``may_keep_plan``: False asks for the plan even when the fresh events cannot change it
    (the store's upgrade of a dossier scheduled in the layout before one timer each)."""
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
    events = [decode_event(e) for e in known.values()]
    events.extend(fresh.values())
    timeline, new = engine.evaluate(dossier_id, events)
    kept = may_keep_plan and all(e.type in PLAN_NEUTRAL_TYPES for e in fresh.values())
    return DossierUpdate(
        events=list(known.values()) + [encode_event(e) for e in fresh.values()],
        contribution=new,
        changes=diff(stored_contribution, new),
        fresh_ids=tuple(fresh),
        duplicates=duplicates,
        refused=tuple(r for r in timeline.refused if r.event_id in fresh),
        alerts=() if kept else tuple(plan_alerts(timeline, engine.alert_rules, alerts_not_before)),
        alerts_kept=kept,
        running=tuple(span for span in timeline.armed if span.end is None),
        closed_at=timeline.closed_at,
    )
