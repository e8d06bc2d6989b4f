"""The due index's diff (core/schedule.py), the alerts' stored forms
(store/schedule_codec.py), and the alert message contract. Reconciling a plan with what
has fired is the write script's (tests/integration/test_alert_timers.py)."""

from __future__ import annotations

import json
from datetime import datetime

from schemas.alerts import AlertMessage
from schemas.events import DossierEvent
from tests.eventkit import ev, ts
from tthc_monitor.alerting.sinks import alert_json
from tthc_monitor.core.alerts import plan_alerts
from tthc_monitor.core.engine import Engine
from tthc_monitor.core.schedule import diff_index, epoch
from tthc_monitor.store.schedule_codec import (
    LEVEL_CODES,
    STAGE_CODES,
    decode_outbox,
    encode_plan,
    encode_record,
)

JUSTICE = "qt.so-tu-phap.002"


def at(value: str) -> datetime:
    return datetime.fromisoformat(ts(value))


def received(d: str, when: str, due: str) -> DossierEvent:
    return ev("received", d, when, "so-tu-phap", procedure_id=JUSTICE, channel="direct", due_at=due)


def test_record_round_trips_and_message_matches_the_schema(engine: Engine) -> None:
    events = [received("S1", "2022-03-21 09:00", "2022-03-24 17:00")]
    for alert in plan_alerts(engine.timeline("S1", events), engine.alert_rules):
        assert decode_outbox(f"{alert.alert_id}|{encode_record(alert)}") == alert
        message = AlertMessage.model_validate_json(alert_json(alert))
        assert message.alert_id == alert.alert_id
        assert message.fire_at == alert.fire_at
        assert "so-tu-phap" in json.loads(alert_json(alert))["unit_id"]


def test_plan_record_lines_carry_what_the_claim_builds_the_outbox_item_from(
    engine: Engine,
) -> None:
    """claim_alerts.lua turns a line and the dossier id into the outbox item that
    encode_record describes: the same fields, levels and stages spelled out."""
    events = [received("S2", "2022-03-21 09:00", "2022-03-24 17:00")]
    plan = plan_alerts(engine.timeline("S2", events), engine.alert_rules)
    lines = encode_plan(plan).split("\n")
    assert lines[-1] == "" and len(lines) == len(plan) + 1
    levels = {code: level for level, code in LEVEL_CODES.items()}
    stages = {code: stage for stage, code in STAGE_CODES.items()}
    for alert, line in zip(plan, lines, strict=False):
        alert_id, level, stage, fire, due, unit = line.split("|")
        item = f"{alert_id}|{levels[level]}|{stages[stage]}|{fire}|{due}|{unit}|S2"
        assert decode_outbox(item) == alert
    assert [line.split("|")[1] for line in lines[:-1]] == ["s", "t", "o", "a"]


def test_index_follows_the_running_spans(engine: Engine) -> None:
    events = [received("S4", "2022-03-21 09:00", "2022-03-24 17:00")]
    running = [s for s in engine.timeline("S4", events).armed if s.end is None]
    first = diff_index("S4", running, [])
    due = epoch(at("2022-03-24 17:00"))
    assert first.put == (("so-tu-phap", "S4|owner", due),)
    assert diff_index("S4", running, first.state).put == ()
    paused = [*events, ev("supplement_requested", "S4", "2022-03-22 10:00", "so-tu-phap")]
    running = [s for s in engine.timeline("S4", paused).armed if s.end is None]
    gone = diff_index("S4", running, first.state)
    assert gone.remove == (("so-tu-phap", "S4|owner"),) and gone.state == []
