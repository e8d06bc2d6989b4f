"""Reconciling a dossier's alert plan with its timers (core/schedule.py), their stored
record (store/schedule_codec.py), and the alert message contract."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from schemas.alerts import AlertMessage
from schemas.events import DossierEvent
from tests.eventkit import ev, ts
from tthc_monitor.alerting.sinks import alert_json
from tthc_monitor.core.alerts import plan_alerts
from tthc_monitor.core.engine import Engine
from tthc_monitor.core.schedule import diff_alerts, diff_index, epoch
from tthc_monitor.store.schedule_codec import decode_outbox, encode_record

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


def test_late_resolution_cancels_unfired_alerts_and_keeps_the_rest(engine: Engine) -> None:
    opened = [received("S2", "2022-03-21 09:00", "2022-03-24 17:00")]
    first = plan_alerts(engine.timeline("S2", opened), engine.alert_rules)
    now = at("2022-03-21 09:00")
    changes = diff_alerts(first, {}, now, timedelta(days=31))
    assert [a.level for a in changes.schedule] == [
        "due_soon",
        "due_today",
        "overdue",
        "apology_missing",
    ]
    assert changes.cancel == ()
    # Resolved on 23/3 (arriving late): due_today and later are no longer warranted.
    closed = [*opened, ev("resolved", "S2", "2022-03-23 15:00", "so-tu-phap")]
    second = plan_alerts(engine.timeline("S2", closed), engine.alert_rules)
    again = diff_alerts(second, changes.state, at("2022-03-24 08:00"), timedelta(days=31))
    assert again.schedule == ()  # due_soon unchanged: not rescheduled
    assert len(again.cancel) == 3
    assert set(again.state) == {a.alert_id for a in second}


def test_alerts_older_than_the_horizon_are_not_scheduled_unless_already(engine: Engine) -> None:
    events = [received("S3", "2022-03-21 09:00", "2022-03-24 17:00")]
    plan = plan_alerts(engine.timeline("S3", events), engine.alert_rules)
    late = at("2022-05-01 09:00")
    assert diff_alerts(plan, {}, late, timedelta(days=31)).state == {}
    held = {a.alert_id: epoch(a.fire_at) for a in plan}
    kept = diff_alerts(plan, held, late, timedelta(days=31))
    assert kept.state == held and kept.schedule == () and kept.cancel == ()


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
