"""The per-write shortcuts of core/update.py give exactly what the full work gives.

Two shortcuts (docs/benchmarks.md, "Issue 15"): stored events are rebuilt without
validating them again (``decode_event``), and a write of payments or digitization alone
keeps the dossier's alert plan instead of planning it again (``alerts_kept``). The
reference below is the update as it was before them: every stored event through
pydantic's validation, the fold, and a fresh plan on every write.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.events import EVENT_ADAPTER, EVENT_TYPES, DossierEvent, parse_event
from tests.eventkit import ev
from tests.unit.test_properties import dossier_events
from tests.unit.test_properties_successions import dossier_events as succession_events
from tests.unit.test_properties_successions import engines  # noqa: F401  (a fixture)
from tthc_monitor.core.alerts import Alert, plan_alerts
from tthc_monitor.core.counters import diff
from tthc_monitor.core.engine import Engine
from tthc_monitor.core.timeline import sequence_key
from tthc_monitor.core.update import (
    DossierUpdate,
    StoredEvent,
    decode_event,
    encode_event,
    plan_update,
)

PROPERTY = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# More for the updates: a wrongly "neutral" type shows only in some histories (a resumed
# clock whose alerts land elsewhere); 120 examples missed one such mutation, 1,500 caught it.
UPDATES = settings(PROPERTY, max_examples=400)

# -- decode_event against pydantic's validation ------------------------------------------------

OFFSETS = [timezone(timedelta(hours=7)), UTC, timezone(timedelta(hours=-5, minutes=-30))]
UNIT = "xa-cam-lo"


@st.composite
def instants(draw: st.DrawFn) -> str:
    at = datetime(2022, 1, 1) + timedelta(
        seconds=draw(st.integers(0, 3 * 365 * 86400)),
        microseconds=draw(st.sampled_from([0, 0, 500_000, 123_456, 1])),
    )
    text = at.replace(tzinfo=draw(st.sampled_from(OFFSETS))).isoformat()
    # Producers write UTC as Z too; the contract accepts both.
    return text.replace("+00:00", "Z") if draw(st.booleans()) else text


@st.composite
def raw_events(draw: st.DrawFn) -> dict[str, Any]:
    """Any valid event of the contract, with or without each optional field."""
    kind = draw(st.sampled_from(EVENT_TYPES))
    body: dict[str, Any] = {
        "schema_version": 1,
        "event_id": draw(st.from_regex(r"[A-Za-z0-9 .:-]{1,20}", fullmatch=True)),
        "dossier_id": draw(st.from_regex(r"[A-Za-z0-9._/-]{1,20}", fullmatch=True)),
        "occurred_at": draw(instants()),
        "unit_id": UNIT,
        "type": kind,
    }
    optional: dict[str, Any] = {}
    if kind == "received":
        body["procedure_id"] = "1.004227"
        body["channel"] = draw(st.sampled_from(["online", "direct", "postal"]))
        optional = {"due_at": draw(instants()), "stage_due_at": draw(instants())}
    elif kind == "transferred":
        body["to_unit_id"] = "so-tu-phap"
        optional = {"stage_due_at": draw(instants())}
    elif kind == "resolved":
        optional = {"result": draw(st.sampled_from(["approved", "rejected"]))}
    elif kind == "digitized":
        body["target"] = draw(st.sampled_from(["components", "result"]))
        body["complete"] = body["target"] == "result" or draw(st.booleans())
    elif kind == "paid":
        body["channel"] = draw(st.sampled_from(["national_portal", "one_stop", "offline"]))
        body["amount_vnd"] = draw(st.integers(0, 10**15))
    elif kind == "apologized":
        optional = {"new_appointment_at": draw(instants())}
    elif kind == "extended":
        body["new_due_at"] = draw(instants())
    elif kind in ("withdrawn", "supplement_requested"):
        optional = {"reason": "không đủ giấy tờ"}
    for name, value in optional.items():
        if draw(st.booleans()):
            body[name] = value
    return body


@PROPERTY
@given(raw=raw_events())
def test_a_stored_event_decodes_as_validation_reads_it(raw: dict[str, Any]) -> None:
    event = parse_event(json.dumps(raw))
    # What the store keeps, after its trip through JSON (orjson in store/state.py).
    stored = json.loads(json.dumps(encode_event(event)))
    fast, validated = decode_event(stored), EVENT_ADAPTER.validate_python(stored)
    assert type(fast) is type(validated)
    assert fast.__dict__ == validated.__dict__
    assert fast.model_fields_set == validated.model_fields_set
    assert fast == validated
    assert fast.model_dump(mode="json") == validated.model_dump(mode="json")
    for name, value in validated.__dict__.items():
        if isinstance(value, datetime):
            ours = fast.__dict__[name]
            # Same instant and same offset: local dates, periods and the alert ids (which
            # print the due) cannot differ.
            assert (ours.isoformat(), ours.utcoffset()) == (value.isoformat(), value.utcoffset())


# -- plan_update against the full work -----------------------------------------------------------


def reference_update(
    engine: Engine,
    dossier_id: str,
    stored_events: Sequence[StoredEvent],
    stored_contribution: Mapping[str, int],
    incoming: Sequence[DossierEvent],
) -> DossierUpdate:
    """plan_update as it was: validate every stored event, fold, plan the alerts."""
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
        alerts=tuple(plan_alerts(timeline, engine.alert_rules)),
        running=tuple(span for span in timeline.armed if span.end is None),
        closed_at=timeline.closed_at,
    )


def write_by_write(engine: Engine, dossier_id: str, arrivals: list[list[DossierEvent]]) -> int:
    """Apply the arrivals as the store does, each write checked against the reference;
    returns how many writes kept their plan."""
    stored: list[StoredEvent] = []
    contribution: dict[str, int] = {}
    scheduled: tuple[Alert, ...] = ()  # the plan the store holds (no horizon here)
    kept = 0
    for batch in arrivals:
        update = plan_update(engine, dossier_id, stored, contribution, batch)
        expected = reference_update(engine, dossier_id, stored, contribution, batch)
        assert update.events == expected.events
        assert update.contribution == expected.contribution
        assert update.changes == expected.changes
        assert update.fresh_ids == expected.fresh_ids
        assert update.duplicates == expected.duplicates
        assert update.refused == expected.refused
        assert update.running == expected.running
        assert update.closed_at == expected.closed_at
        if update.fresh_ids:  # else nothing is written, nothing rescheduled
            if update.alerts_kept:
                kept += 1
                assert update.alerts == ()
            else:
                scheduled = update.alerts
            assert scheduled == expected.alerts
        stored, contribution = update.events, update.contribution
    return kept


def arrivals_of(data: st.DataObject, events: list[DossierEvent]) -> list[list[DossierEvent]]:
    """In sequence order (a live stream) or shuffled, with redeliveries, in random writes."""
    if data.draw(st.booleans()):
        stream = sorted(events, key=sequence_key)
    else:
        stream = list(data.draw(st.permutations(events)))
    redeliver = data.draw(st.booleans())
    if stream and redeliver:
        redelivered = data.draw(st.lists(st.sampled_from(stream), max_size=3))
        for event in redelivered:
            stream.insert(data.draw(st.integers(0, len(stream))), event)
    if data.draw(st.booleans()):
        return [[event] for event in stream]  # the worker: one event a write
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=4)))
    return [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]


@UPDATES
@given(data=st.data())
def test_shortcuts_give_the_full_updates(engine: Engine, data: st.DataObject) -> None:
    events = data.draw(dossier_events("D"))
    write_by_write(engine, "D", arrivals_of(data, events))


@UPDATES
@given(data=st.data())
def test_shortcuts_give_the_full_updates_across_successions(
    engines: dict[str, Engine],  # noqa: F811  (the imported fixture)
    data: st.DataObject,
) -> None:
    events = data.draw(succession_events("D"))
    write_by_write(engines["all"], "D", arrivals_of(data, events))


def test_payments_and_digitization_keep_the_plan(engine: Engine) -> None:
    """The shortcut is taken where it should be (the properties above prove it exact)."""
    received = ev(
        "received", "D", "2022-03-21 08:00", UNIT, procedure_id="1.004227", channel="online"
    )
    paid = ev("paid", "D", "2022-03-21 09:00", UNIT, channel="one_stop", amount_vnd=50_000)
    digitized = ev("digitized", "D", "2022-03-21 09:30", UNIT, target="components", complete=True)
    apologized = ev("apologized", "D", "2022-03-22 09:00", UNIT)
    arrivals = [[received], [paid], [digitized, paid], [apologized], [paid, apologized]]
    assert write_by_write(engine, "D", arrivals) == 2  # the paid one; then digitized+paid
    first = plan_update(engine, "D", [], {}, [received])
    assert first.alerts and not first.alerts_kept
    second = plan_update(engine, "D", first.events, first.contribution, [paid])
    assert second.alerts_kept and second.fresh_ids == (paid.event_id,)  # still written
