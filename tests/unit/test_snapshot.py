"""Snapshot assembly: flows of the period, levels at its ends, roll-up by parent."""

from __future__ import annotations

from datetime import datetime

from tests.eventkit import ev
from tthc_monitor.core.counters import contribution, split_key
from tthc_monitor.core.engine import Engine
from tthc_monitor.core.periods import LOCAL_TZ
from tthc_monitor.core.snapshot import build_snapshot


def counters_of(engine: Engine, dossiers: dict[str, list]) -> dict[str, dict[str, int]]:  # type: ignore[type-arg]
    out: dict[str, dict[str, int]] = {}
    for dossier_id, events in dossiers.items():
        for key, value in contribution(engine.timeline(dossier_id, events), engine.rules).items():
            period, unit, metric = split_key(key)
            if period != "all":
                bucket = out.setdefault(period, {})
                bucket[f"{unit}|{metric}"] = bucket.get(f"{unit}|{metric}", 0) + value
    return out


def test_roll_up_and_levels(engine: Engine) -> None:
    land = "1.004227"
    dossiers = {
        "K1": [
            ev(
                "received",
                "K1",
                "2022-02-20 08:00",
                "xa-cam-lo",
                procedure_id=land,
                channel="direct",
                due_at="2022-03-01 17:00",
            ),
            ev("transferred", "K1", "2022-02-21 08:00", "xa-cam-lo", to_unit_id="cn-vpdkdd-cam-lo"),
        ],
    }
    counters = counters_of(engine, dossiers)
    now = datetime(2022, 5, 1, tzinfo=LOCAL_TZ)
    doc = build_snapshot("2022-04", engine.periods, engine.registry, counters, now)
    units = {u["unit_id"]: u for u in doc["units"]}
    assert units["xa-cam-lo"]["carried_over"] == 1
    assert units["xa-cam-lo"]["in_progress_overdue"] == 1
    assert units["cn-vpdkdd-cam-lo"]["carried_over"] == 1  # its inter-agency stage
    assert units["cn-vpdkdd-cam-lo"]["in_progress_overdue"] == 0  # owned dossiers only
    assert units["ubnd-cam-lo"]["carried_over"] == 1
    assert units["so-tai-nguyen-va-moi-truong"]["carried_over"] == 1
    assert units["so-tu-phap"]["carried_over"] == 0
    march = build_snapshot("2022-03", engine.periods, engine.registry, counters, now)
    m = {u["unit_id"]: u for u in march["units"]}
    assert m["xa-cam-lo"]["received_direct"] == 1 and m["xa-cam-lo"]["carried_over"] == 0
    assert m["cn-vpdkdd-cam-lo"]["received_interagency"] == 1
    assert doc["start"] == "2022-03-15T00:00:00+07:00"
    assert all(
        isinstance(v, int)
        for u in doc["units"]
        for k, v in u.items()
        if k not in ("unit_id", "name", "parent_id", "digitization", "fees", "land")
    )


def test_land_appendix_over_three_periods(engine: Engine) -> None:
    """PL4 covers 15/12–14/3: flows of three periods, levels at the outer ends."""
    land = "1.004227"
    dossiers = {
        # Carried into the quarter, resolved late in it; the tax stage was late.
        "L1": [
            ev(
                "received",
                "L1",
                "2021-12-01 08:00",
                "xa-cam-lo",
                procedure_id=land,
                channel="direct",
                due_at="2021-12-20 17:00",
            ),
            ev(
                "transferred",
                "L1",
                "2021-12-02 08:00",
                "xa-cam-lo",
                to_unit_id="chi-cuc-thue-cam-lo",
                stage_due_at="2021-12-10 17:00",
            ),
            ev(
                "transferred",
                "L1",
                "2022-01-05 08:00",
                "chi-cuc-thue-cam-lo",
                to_unit_id="xa-cam-lo",
            ),
            ev("resolved", "L1", "2022-01-06 08:00", "xa-cam-lo"),
        ],
        # Received in the quarter, still open at its end and past due.
        "L2": [
            ev(
                "received",
                "L2",
                "2022-02-01 08:00",
                "xa-cam-lo",
                procedure_id=land,
                channel="direct",
                due_at="2022-03-01 17:00",
            ),
            ev("transferred", "L2", "2022-02-02 08:00", "xa-cam-lo", to_unit_id="cn-vpdkdd-cam-lo"),
        ],
        # A land dossier without inter-agency stage does not count.
        "L3": [
            ev(
                "received",
                "L3",
                "2022-02-01 08:00",
                "xa-cam-lo",
                procedure_id=land,
                channel="direct",
            ),
        ],
    }
    counters = counters_of(engine, dossiers)
    doc = build_snapshot(
        "2022-03",
        engine.periods,
        engine.registry,
        counters,
        datetime(2022, 4, 1, tzinfo=LOCAL_TZ),
        months=3,
    )
    assert (doc["start"], doc["end"]) == ("2021-12-15T00:00:00+07:00", "2022-03-15T00:00:00+07:00")
    figures = {u["unit_id"]: u["land"] for u in doc["units"]}["xa-cam-lo"]
    assert figures == {
        "received_new": 1,
        "resolved_on_time": 0,
        "resolved_late": 1,
        "late_at_commune": 1,
        "late_at_district": 0,
        "late_at_natural_resources": 0,
        "late_at_construction": 0,
        "late_at_tax": 1,
        "carried_over": 1,
        "in_progress_within": 0,
        "in_progress_overdue": 1,
    }
