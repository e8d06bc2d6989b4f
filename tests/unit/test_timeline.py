"""The dossier rules on hand-worked cases (docs/rules.md)."""

from __future__ import annotations

from datetime import datetime

from tests.eventkit import ev, ts
from tthc_monitor.core.counters import contribution
from tthc_monitor.core.engine import Engine

LAND = "1.004227"  # commune-level land procedure of the bundled catalog
DOSSIER = "000.00.16.H50-220316-0001"


def at(value: str) -> datetime:
    return datetime.fromisoformat(ts(value))


def spec_example() -> list:  # type: ignore[type-arg]
    """The example stream of docs/rules.md, with an explicit dossier due."""
    d = DOSSIER
    return [
        ev(
            "received",
            d,
            "2022-03-16 08:12",
            "xa-cam-lo",
            procedure_id=LAND,
            channel="direct",
            due_at="2022-04-01 17:00",
        ),
        ev("digitized", d, "2022-03-16 08:20", "xa-cam-lo", target="components", complete=True),
        ev(
            "transferred",
            d,
            "2022-03-17 09:00",
            "xa-cam-lo",
            to_unit_id="cn-vpdkdd-cam-lo",
            stage_due_at="2022-03-24 17:00",
        ),
        ev(
            "supplement_requested",
            d,
            "2022-03-18 10:00",
            "cn-vpdkdd-cam-lo",
            reason="thiếu trích lục bản đồ",
        ),
        ev("supplemented", d, "2022-03-22 14:30", "cn-vpdkdd-cam-lo"),
        ev(
            "transferred",
            d,
            "2022-03-28 15:00",
            "cn-vpdkdd-cam-lo",
            to_unit_id="chi-cuc-thue-cam-lo",
            stage_due_at="2022-03-31 17:00",
        ),
        ev("transferred", d, "2022-03-31 10:00", "chi-cuc-thue-cam-lo", to_unit_id="xa-cam-lo"),
        ev(
            "paid",
            d,
            "2022-04-01 09:00",
            "xa-cam-lo",
            channel="national_portal",
            amount_vnd=1250000,
        ),
        ev("extended", d, "2022-04-04 16:00", "xa-cam-lo", new_due_at="2022-04-08 17:00"),
        ev("apologized", d, "2022-04-04 16:05", "xa-cam-lo", new_appointment_at="2022-04-08 17:00"),
        ev("resolved", d, "2022-04-07 10:00", "xa-cam-lo", result="approved"),
        ev("digitized", d, "2022-04-07 10:05", "xa-cam-lo", target="result", complete=True),
    ]


def test_spec_example_stages_and_clock_stop(engine: Engine) -> None:
    timeline = engine.timeline(DOSSIER, spec_example())
    assert timeline.owner == "xa-cam-lo"
    assert not timeline.refused
    stages = [(s.unit_id, s.interagency, s.due, s.timeliness) for s in timeline.stages]
    assert stages == [
        # First owner stage follows the dossier due (no received.stage_due_at).
        ("xa-cam-lo", False, at("2022-04-01 17:00"), "early"),
        # Paused 18/3 -> 22/3: working days 21/3 and 22/3 move the stage due by two.
        ("cn-vpdkdd-cam-lo", True, at("2022-03-28 17:00"), "on_time"),
        ("chi-cuc-thue-cam-lo", True, at("2022-03-31 17:00"), "on_time"),
        # Back at the owner: the dossier due, moved by the stop then extended.
        ("xa-cam-lo", False, at("2022-04-08 17:00"), "early"),
    ]
    assert timeline.resolution == "early"
    assert timeline.due == at("2022-04-08 17:00")
    assert timeline.overdue_changes == ()


def test_spec_example_counters(engine: Engine) -> None:
    counts = contribution(engine.timeline(DOSSIER, spec_example()), engine.rules)
    assert counts == {
        "all||dossiers": 1,
        "2022-04|xa-cam-lo|received_direct": 1,
        "d2022-03-16|xa-cam-lo|day_received": 1,
        "d2022-04-07|xa-cam-lo|day_resolved": 1,
        "2022-04|xa-cam-lo|resolved_early": 1,
        "2022-04|xa-cam-lo|apologized": 1,
        "2022-04|xa-cam-lo|extended": 1,
        "2022-04|xa-cam-lo|transferred_out": 1,
        # No paid_national_portal: PL5/PL6 count fee-bearing procedures only, and the
        # commune land procedure 1.004227 has no fee in the catalog.
        "2022-04|xa-cam-lo|dig_received": 1,
        "2022-04|xa-cam-lo|dig_with_components": 1,
        "2022-04|xa-cam-lo|dig_fully": 1,
        "2022-04|xa-cam-lo|dig_resolved": 1,
        "2022-04|xa-cam-lo|dig_results": 1,
        # A land dossier with inter-agency stages: the land appendix counts it too.
        "2022-04|xa-cam-lo|land_received": 1,
        "2022-04|xa-cam-lo|land_resolved_on_time": 1,
        "2022-04|cn-vpdkdd-cam-lo|received_interagency": 1,
        "2022-04|cn-vpdkdd-cam-lo|resolved_on_time": 1,
        "2022-04|cn-vpdkdd-cam-lo|transferred_out": 1,
        "2022-04|chi-cuc-thue-cam-lo|received_interagency": 1,
        "2022-04|chi-cuc-thue-cam-lo|resolved_on_time": 1,
        "2022-04|chi-cuc-thue-cam-lo|transferred_out": 1,
    }


def test_open_dossier_becomes_overdue_at_its_due(engine: Engine) -> None:
    d = "OPEN-1"
    events = [
        ev(
            "received",
            d,
            "2022-03-01 09:00",
            "so-tu-phap",
            procedure_id="qt.so-tu-phap.002",
            channel="online",
            due_at="2022-03-10 17:00",
        ),
    ]
    timeline = engine.timeline(d, events)
    assert timeline.overdue_changes == ((at("2022-03-10 17:00"), 1),)
    counts = contribution(timeline, engine.rules)
    assert counts["2022-03|so-tu-phap|open_delta"] == 1
    assert counts["2022-03|so-tu-phap|overdue_delta"] == 1


def test_pause_hides_overdue_and_resume_moves_due(engine: Engine) -> None:
    d = "PAUSE-1"
    events = [
        ev(
            "received",
            d,
            "2022-03-01 09:00",
            "so-tu-phap",
            procedure_id="qt.so-tu-phap.002",
            channel="direct",
            due_at="2022-03-10 17:00",
        ),
        ev("supplement_requested", d, "2022-03-09 10:00", "so-tu-phap"),
        # A second request while paused changes nothing.
        ev("supplement_requested", d, "2022-03-10 10:00", "so-tu-phap"),
        ev("supplemented", d, "2022-03-16 08:00", "so-tu-phap"),
        ev("resolved", d, "2022-03-21 16:00", "so-tu-phap"),
    ]
    timeline = engine.timeline(d, events)
    # Working days in (9/3, 16/3]: 10, 11, 14, 15, 16 -> the due moves 5 days to 17/3.
    assert timeline.due == at("2022-03-17 17:00")
    assert timeline.resolution == "late"
    assert timeline.overdue_changes == (
        (at("2022-03-17 17:00"), 1),
        (at("2022-03-21 16:00"), -1),
    )
    counts = contribution(timeline, engine.rules)
    assert counts["2022-04|so-tu-phap|resolved_late"] == 1
    assert counts["2022-04|so-tu-phap|late_as_initial"] == 1


def test_stage_ending_while_paused_is_moved_first(engine: Engine) -> None:
    d = "PAUSE-2"
    events = [
        ev(
            "received",
            d,
            "2022-03-21 09:00",
            "xa-cam-lo",
            procedure_id=LAND,
            channel="direct",
            due_at="2022-04-20 17:00",
        ),
        ev(
            "transferred",
            d,
            "2022-03-21 10:00",
            "xa-cam-lo",
            to_unit_id="cn-vpdkdd-cam-lo",
            stage_due_at="2022-03-23 17:00",
        ),
        ev("supplement_requested", d, "2022-03-22 10:00", "cn-vpdkdd-cam-lo"),
        # Ends while paused: (22/3, 25/3] has three working days -> due 28/3, on time.
        ev("transferred", d, "2022-03-25 09:00", "cn-vpdkdd-cam-lo", to_unit_id="xa-cam-lo"),
    ]
    timeline = engine.timeline(d, events)
    land = timeline.stages[1]
    assert (land.unit_id, land.due, land.timeliness) == (
        "cn-vpdkdd-cam-lo",
        at("2022-03-28 17:00"),
        "early",
    )
    assert timeline.paused_since == at("2022-03-22 10:00")


def test_refusals_out_of_sequence(engine: Engine) -> None:
    d = "SEQ-1"
    events = [
        ev("transferred", d, "2022-03-01 08:00", "so-tu-phap", to_unit_id="so-y-te"),
        ev("paid", d, "2022-03-01 08:30", "so-tu-phap", channel="one_stop", amount_vnd=0),
        ev(
            "received",
            d,
            "2022-03-02 09:00",
            "so-tu-phap",
            procedure_id="qt.so-tu-phap.002",
            channel="postal",
            due_at="2022-03-10 17:00",
        ),
        ev(
            "received",
            d,
            "2022-03-02 10:00",
            "so-tu-phap",
            procedure_id="qt.so-tu-phap.002",
            channel="postal",
        ),
        ev("withdrawn", d, "2022-03-03 09:00", "so-tu-phap", reason="người nộp rút hồ sơ"),
        ev("resolved", d, "2022-03-04 09:00", "so-tu-phap"),
        ev("apologized", d, "2022-03-05 09:00", "so-tu-phap"),
    ]
    timeline = engine.timeline(d, events)
    reasons = {r.type: r.reason for r in timeline.refused}
    assert set(reasons) == {"transferred", "received", "resolved"}
    assert "before" in reasons["transferred"]
    assert "second" in reasons["received"]
    assert "after the dossier was withdrawn" in reasons["resolved"]
    counts = contribution(timeline, engine.rules)
    assert counts["2022-03|so-tu-phap|withdrawn"] == 1
    assert counts["2022-03|so-tu-phap|received_direct"] == 1
    assert counts["2022-03|so-tu-phap|paid_one_stop"] == 1  # counts whenever it happened
    assert counts["2022-03|so-tu-phap|apologized"] == 1
    assert counts["all||refused_events"] == 3
    assert "2022-03|so-y-te|received_interagency" not in counts


def test_orphans_are_held(engine: Engine) -> None:
    d = "ORPHAN-1"
    events = [ev("resolved", d, "2022-03-04 09:00", "so-tu-phap")]
    timeline = engine.timeline(d, events)
    assert timeline.is_orphan and len(timeline.held) == 1
    assert contribution(timeline, engine.rules) == {
        "all||orphan_dossiers": 1,
        "all||orphan_events": 1,
    }


def test_timeliness_boundaries(engine: Engine) -> None:
    from tthc_monitor.core.timeline import timeliness

    cal = engine.calendar
    due = at("2022-04-08 17:00")
    assert timeliness(at("2022-04-07 23:59"), due, cal) == "early"
    assert timeliness(at("2022-04-08 08:00"), due, cal) == "on_time"
    assert timeliness(at("2022-04-08 17:00"), due, cal) == "on_time"
    assert timeliness(at("2022-04-08 17:01"), due, cal) == "late"
    # Compared in local time even when the instant is given in UTC.
    assert timeliness(datetime.fromisoformat("2022-04-07T17:30:00+00:00"), due, cal) == "on_time"


def test_computed_due_from_catalog(engine: Engine) -> None:
    d = "DUE-1"
    days = engine.registry.procedure("qt.so-tu-phap.002").processing_days
    timeline = engine.timeline(
        d,
        [
            ev(
                "received",
                d,
                "2022-04-08 16:00",
                "so-tu-phap",
                procedure_id="qt.so-tu-phap.002",
                channel="online",
            ),
        ],
    )
    assert timeline.due == engine.calendar.computed_due(at("2022-04-08 16:00"), days)
