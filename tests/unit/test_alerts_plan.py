"""When deadline alerts fire (docs/rules.md, "Alerts"), on hand-worked cases."""

from __future__ import annotations

from datetime import datetime

from tests.eventkit import ev, ts
from tthc_monitor.core.alerts import AlertRules, plan_alerts
from tthc_monitor.core.engine import Engine

JUSTICE = "qt.so-tu-phap.002"


def at(value: str) -> datetime:
    return datetime.fromisoformat(ts(value))


def plan(engine: Engine, events: list) -> list[tuple[str, str, str, datetime]]:  # type: ignore[type-arg]
    timeline = engine.timeline(events[0].dossier_id, events)
    alerts = plan_alerts(timeline, AlertRules(engine.calendar))
    return [(a.level, a.unit_id, a.stage, a.fire_at) for a in alerts]


def received(d: str, when: str, due: str, unit: str = "so-tu-phap") -> object:
    return ev("received", d, when, unit, procedure_id=JUSTICE, channel="direct", due_at=due)


def test_open_dossier_gets_every_level_then_apology_missing(engine: Engine) -> None:
    events = [received("A1", "2022-03-21 09:00", "2022-03-24 17:00")]
    assert plan(engine, events) == [
        ("due_soon", "so-tu-phap", "owner", at("2022-03-23 07:30")),
        ("due_today", "so-tu-phap", "owner", at("2022-03-24 07:30")),
        ("overdue", "so-tu-phap", "owner", at("2022-03-24 17:00")),
        ("apology_missing", "so-tu-phap", "owner", at("2022-03-25 07:30")),
    ]


def test_resolved_or_apologized_in_time_stops_alerts(engine: Engine) -> None:
    events = [
        received("A2", "2022-03-21 09:00", "2022-03-24 17:00"),
        ev("resolved", "A2", "2022-03-23 15:00", "so-tu-phap"),
    ]
    assert [p[0] for p in plan(engine, events)] == ["due_soon"]
    events = [
        received("A3", "2022-03-21 09:00", "2022-03-24 17:00"),
        ev("apologized", "A3", "2022-03-24 16:00", "so-tu-phap"),
    ]
    assert [p[0] for p in plan(engine, events)] == ["due_soon", "due_today", "overdue"]
    # Resolved exactly at the due: on time, so no overdue alert.
    events = [
        received("A4", "2022-03-21 09:00", "2022-03-24 17:00"),
        ev("resolved", "A4", "2022-03-24 17:00", "so-tu-phap"),
    ]
    assert [p[0] for p in plan(engine, events)] == ["due_soon", "due_today"]


def test_arming_late_fires_only_the_most_severe_passed_level(engine: Engine) -> None:
    events = [received("B1", "2022-03-24 10:00", "2022-03-24 17:00")]
    assert plan(engine, events)[:2] == [
        ("due_today", "so-tu-phap", "owner", at("2022-03-24 10:00")),
        ("overdue", "so-tu-phap", "owner", at("2022-03-24 17:00")),
    ]


def test_due_set_before_morning_gives_overdue_and_no_due_today(engine: Engine) -> None:
    events = [
        received("B2", "2022-03-21 09:00", "2022-03-30 17:00"),
        ev("extended", "B2", "2022-03-24 06:00", "so-tu-phap", new_due_at="2022-03-24 07:00"),
    ]
    levels = [(p[0], p[3]) for p in plan(engine, events)]
    assert levels == [
        ("due_soon", at("2022-03-24 06:00")),  # the new due's due_soon has passed
        ("overdue", at("2022-03-24 07:00")),
        ("apology_missing", at("2022-03-25 07:30")),
    ]


def test_pause_silences_and_resume_rearms_with_the_moved_due(engine: Engine) -> None:
    events = [
        received("C1", "2022-03-21 09:00", "2022-03-24 17:00"),
        ev("supplement_requested", "C1", "2022-03-22 10:00", "so-tu-phap"),
        # (22/3, 29/3] holds 5 working days: the due moves to 31/3 17:00.
        ev("supplemented", "C1", "2022-03-29 10:00", "so-tu-phap"),
    ]
    assert [(p[0], p[3]) for p in plan(engine, events)] == [
        ("due_soon", at("2022-03-30 07:30")),
        ("due_today", at("2022-03-31 07:30")),
        ("overdue", at("2022-03-31 17:00")),
        ("apology_missing", at("2022-04-01 07:30")),
    ]


def test_interagency_stage_alerts_go_to_the_holder(engine: Engine) -> None:
    land = "1.004227"
    events = [
        ev(
            "received",
            "D1",
            "2022-03-21 08:00",
            "xa-cam-lo",
            procedure_id=land,
            channel="direct",
            due_at="2022-04-20 17:00",
        ),
        ev(
            "transferred",
            "D1",
            "2022-03-21 10:00",
            "xa-cam-lo",
            to_unit_id="cn-vpdkdd-cam-lo",
            stage_due_at="2022-03-23 17:00",
        ),
        ev("transferred", "D1", "2022-03-24 09:00", "cn-vpdkdd-cam-lo", to_unit_id="xa-cam-lo"),
        ev("resolved", "D1", "2022-03-25 09:00", "xa-cam-lo"),
    ]
    stage = [p for p in plan(engine, events) if p[2] == "interagency"]
    assert stage == [
        ("due_soon", "cn-vpdkdd-cam-lo", "interagency", at("2022-03-22 07:30")),
        ("due_today", "cn-vpdkdd-cam-lo", "interagency", at("2022-03-23 07:30")),
        ("overdue", "cn-vpdkdd-cam-lo", "interagency", at("2022-03-23 17:00")),
        ("apology_missing", "cn-vpdkdd-cam-lo", "interagency", at("2022-03-24 07:30")),
    ]
    assert not [p for p in plan(engine, events) if p[2] == "owner"]


def test_holidays_and_compensatory_saturdays(engine: Engine) -> None:
    # Due Monday 7/2/2022, right after Tết (31/1-4/2 off): due_soon on Friday 28/1.
    events = [received("E1", "2022-01-20 09:00", "2022-02-07 17:00")]
    assert plan(engine, events)[0][3] == at("2022-01-28 07:30")
    # Saturday 10/1/2026 is a compensatory working day: the last one before Monday 12/1.
    events = [received("E2", "2026-01-05 09:00", "2026-01-12 17:00")]
    assert plan(engine, events)[0][3] == at("2026-01-10 07:30")


def test_alert_ids_are_stable_and_distinct(engine: Engine) -> None:
    events = [received("F1", "2022-03-21 09:00", "2022-03-24 17:00")]
    timeline = engine.timeline("F1", events)
    first = plan_alerts(timeline, AlertRules(engine.calendar))
    again = plan_alerts(engine.timeline("F1", list(reversed(events))), AlertRules(engine.calendar))
    assert [a.alert_id for a in first] == [a.alert_id for a in again]
    assert len({a.alert_id for a in first}) == len(first)


# --------------------------------------------------------------------- properties
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests.unit.test_properties import dossier_events  # noqa: E402


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_alert_rules_hold_for_any_history(engine: Engine, data: st.DataObject) -> None:
    events = data.draw(dossier_events("P"))
    rules = AlertRules(engine.calendar)
    timeline = engine.timeline("P", events)
    alerts = plan_alerts(timeline, rules)
    # Same alerts whatever the arrival order and duplication.
    shuffled = data.draw(st.permutations(events + events[:2]))
    assert plan_alerts(engine.timeline("P", shuffled), rules) == alerts
    # Each (timeline, level, due) at most once.
    assert len({a.alert_id for a in alerts}) == len(alerts)
    # Never while paused or closed: every deadline alert falls inside a running span.
    for alert in alerts:
        if alert.level == "apology_missing":
            continue
        assert any(
            span.unit_id == alert.unit_id
            and span.due == alert.due_at
            and span.start <= alert.fire_at
            and (span.end is None or alert.fire_at < span.end)
            for span in timeline.armed
        ), alert


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_leaving_out_old_stages_keeps_every_alert_from_the_cutoff(
    engine: Engine, data: st.DataObject
) -> None:
    events = data.draw(dossier_events("P"))
    rules = AlertRules(engine.calendar)
    timeline = engine.timeline("P", events)
    full = plan_alerts(timeline, rules)
    instants = sorted({a.fire_at for a in full} | {e.occurred_at for e in events})
    cutoff = data.draw(st.sampled_from(instants))
    cut = plan_alerts(timeline, rules, not_before=cutoff)
    # Only whole stages are left out, and none with an alert at or after the cutoff.
    assert set(cut) <= set(full)
    assert {a for a in full if a.fire_at >= cutoff} <= set(cut)
    assert cut == [a for a in full if a in set(cut)]


def test_per_procedure_lead(engine: Engine, tmp_path: object) -> None:
    from pathlib import Path

    from tthc_monitor.reference.alert_files import load_alert_leads

    leads = Path(str(tmp_path)) / "leads.csv"
    leads.write_text(f"procedure_id,lead_days\n{JUSTICE},3\n", encoding="utf-8")
    rules = AlertRules(engine.calendar, lead_overrides=load_alert_leads(leads))
    events = [received("G1", "2022-03-21 09:00", "2022-03-25 17:00")]
    alerts = plan_alerts(engine.timeline("G1", events), rules)
    # Three working days before Friday 25/3: Tuesday 22/3, 07:30.
    assert (alerts[0].level, alerts[0].fire_at) == ("due_soon", at("2022-03-22 07:30"))
    leads.write_text("procedure_id,lead_days\nx,0\n", encoding="utf-8")
    import pytest

    with pytest.raises(ValueError, match="line 2, field 'lead_days'"):
        load_alert_leads(leads)
