"""Registry versions (docs/reference-data.md, "Units that start, end and merge"): loading
validity and succession, refusing events at units out of force, and each rule of a
succession in the fold, the counters and the snapshot."""

from __future__ import annotations

import itertools
import json
import random
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from schemas.events import DossierEvent
from schemas.reference import Procedure, Unit
from tests.eventkit import ev, raw, ts
from tthc_monitor.core.calendar import WorkingCalendar
from tthc_monitor.core.counters import contribution, split_key
from tthc_monitor.core.engine import Engine
from tthc_monitor.core.periods import PeriodScheme
from tthc_monitor.core.snapshot import build_snapshot
from tthc_monitor.ingest import Rejection, decode
from tthc_monitor.reference.errors import ReferenceDataError
from tthc_monitor.reference.registry import Registry, Succession, load_registry

HEADER = "unit_id,name,parent_id,level,kind,district,report_group,report_order"
VERSIONED = HEADER + ",valid_from,valid_to,successor_id"


def at(value: str) -> datetime:
    return datetime.fromisoformat(ts(value))


def _unit(unit_id: str, **fields: object) -> Unit:
    base: dict[str, object] = {
        "unit_id": unit_id,
        "name": unit_id.upper(),
        "level": "commune",
        "kind": "commune_center",
        "report_group": "IV",
    }
    base.update(fields)
    return Unit.model_validate(base)


def _registry() -> Registry:
    """A (old commune, until 1 July 2025) → s (new commune); b (old land branch) → t;
    d (district committee) ends with no successor."""
    end = "2025-07-01"
    units = {
        "a": _unit("a", valid_to=end, successor_id="s"),
        "s": _unit("s", valid_from=end),
        "b": _unit("b", kind="land_branch", valid_to=end, successor_id="t"),
        "t": _unit("t", kind="land_branch", valid_from=end),
        "d": _unit("d", level="district", kind="district_committee", valid_to=end),
    }
    procedures = {
        "p": Procedure(
            procedure_id="p",
            name="Thủ tục",
            sector="Hộ tịch",
            unit_id="s",
            processing_days=10,
            has_fee=True,
            online_payment=True,
            digitize_components=False,
            digitize_results=False,
        )
    }
    return Registry(units=units, procedures=procedures)


@pytest.fixture(scope="module")
def engine(calendar: WorkingCalendar) -> Engine:
    return Engine(_registry(), calendar, PeriodScheme(15))


def _received(dossier: str, when: str, unit: str = "a", **fields: object) -> DossierEvent:
    return ev("received", dossier, when, unit, procedure_id="p", channel="direct", **fields)


# -- loading ---------------------------------------------------------------------------


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_a_folder_of_files_is_one_registry_and_predecessor_sets_successor(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "units"
    folder.mkdir()
    _write(
        folder / "1-units-2022.csv",
        VERSIONED + "\n"
        "so-a,Sở A,,province,department,,I,1,,2025-07-01,\n"
        "ubnd-x,UBND X,,district,district_committee,x,III,2,,2025-07-01,\n"
        "xa-1,Xã 1,,commune,commune_one_stop,x,,0,,2025-07-01,xa-new\n",
    )
    _write(
        folder / "2-units-2025.csv",
        VERSIONED + "\nxa-new,Xã Mới,,commune,commune_center,,IV,1,2025-07-01,,\n",
    )
    _write(
        folder / "3-departments-2025.csv",
        VERSIONED + ",predecessor_id\n"
        "so-a-2025,Sở A (từ 2025),,province,department,,I,1,2025-07-01,,,so-a\n",
    )
    # A template is skipped until a center fills it and renames it.
    _write(folder / "departments.template.csv", "not even a csv header\n")
    _write(
        tmp_path / "procedures.csv",
        "procedure_id,name,sector,unit_id,processing_days,has_fee,online_payment,"
        "digitize_components,digitize_results\np,T,S,so-a,5,false,false,false,false\n",
    )
    registry = load_registry(folder, tmp_path / "procedures.csv")
    assert registry.unit("so-a").successor_id == "so-a-2025"
    assert registry.successions() == (
        Succession(datetime(2025, 7, 1).date(), "so-a", "so-a-2025"),
        Succession(datetime(2025, 7, 1).date(), "xa-1", "xa-new"),
    )
    day_before, day_of = datetime(2025, 6, 30).date(), datetime(2025, 7, 1).date()
    assert registry.in_force("ubnd-x", day_before) and not registry.in_force("ubnd-x", day_of)
    assert not registry.in_force("xa-new", day_before) and registry.in_force("xa-new", day_of)
    assert registry.versioned


def test_a_file_without_validity_columns_is_always_in_force(tmp_path: Path) -> None:
    path = _write(tmp_path / "units.csv", HEADER + "\nb,B,,commune,c,,IV,0\n")
    registry = load_registry(path, _procedures(tmp_path))
    assert not registry.versioned
    assert registry.in_force("b", datetime(1990, 1, 1).date())
    assert registry.in_force("b", datetime(2090, 1, 1).date())


def test_the_bundled_registry_has_the_2022_and_the_2025_units() -> None:
    registry = load_registry()
    assert registry.versioned
    april_2022, july_2025 = datetime(2022, 4, 1).date(), datetime(2025, 7, 1).date()
    in_2022 = [u for u in registry.top_level() if registry.in_force(u, april_2022)]
    in_2025 = [u for u in registry.top_level() if registry.in_force(u, july_2025)]
    assert len(in_2022) == 33 and len(in_2025) == 78
    assert all(registry.unit(u).kind == "commune_center" for u in in_2025)
    assert registry.successions() == ()  # no verified successor: the template is empty


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("a,A,,commune,c,,,0,2025-07-01,2025-07-01,", "not after valid_from"),
        ("a,A,,commune,c,,,0,,2025-07-01,zz", "unknown unit 'zz'"),
        ("a,A,,commune,c,,,0,,,b", "needs valid_to"),
        ("a,A,,commune,c,,,0,,2025-07-01,a", "cannot succeed itself"),
        ("a,A,,commune,c,,,0,,2025-07-01,b", "not in force on 2025-07-01"),
    ],
)
def test_inconsistent_versions_are_refused_with_file_and_line(
    tmp_path: Path, row: str, message: str
) -> None:
    path = _write(
        tmp_path / "units.csv", VERSIONED + "\n" + row + "\nb,B,,commune,c,,,0,,2025-07-01,\n"
    )
    with pytest.raises(ReferenceDataError) as error:
        load_registry(path, _procedures(tmp_path))
    assert f"{path}:2" in str(error.value) and message in str(error.value)


def _procedures(tmp_path: Path) -> Path:
    return _write(
        tmp_path / "procedures.csv",
        "procedure_id,name,sector,unit_id,processing_days,has_fee,online_payment,"
        "digitize_components,digitize_results\np,T,S,b,5,false,false,false,false\n",
    )


def test_a_unit_id_in_two_files_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "units"
    folder.mkdir()
    _write(folder / "1.csv", HEADER + "\nb,B,,commune,c,,,0\n")
    _write(folder / "2.csv", HEADER + "\nb,B again,,commune,c,,,0\n")
    with pytest.raises(ReferenceDataError, match="duplicate unit_id 'b'"):
        load_registry(folder, _procedures(tmp_path))


# -- events at units out of force -----------------------------------------------------------


def _raw(type_: str, unit: str, when: str, **fields: object) -> bytes:
    return json.dumps(raw(type_, "hs-1", when, unit, **fields)).encode()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (("received", "a", "2025-07-01 08:00"), "unit_id"),
        (("received", "s", "2025-06-30 23:59"), "unit_id"),
        (("transferred", "s", "2025-07-02 08:00", {"to_unit_id": "b"}), "to_unit_id"),
    ],
)
def test_events_at_a_unit_not_in_force_are_refused(
    engine: Engine, payload: tuple[Any, ...], field: str
) -> None:
    type_, unit, when, *extra = payload
    fields = dict(extra[0]) if extra else {}
    if type_ == "received":
        fields.update(procedure_id="p", channel="direct")
    result = decode(_raw(type_, unit, when, **fields), engine)
    assert isinstance(result, Rejection)
    assert result.reason == f"field {field!r}: unit not in force at occurred_at"


def test_the_last_and_first_instants_are_accepted(engine: Engine) -> None:
    for unit, when in (("a", "2025-06-30 23:59"), ("s", "2025-07-01 00:00")):
        fields = {"procedure_id": "p", "channel": "direct"}
        assert not isinstance(decode(_raw("received", unit, when, **fields), engine), Rejection)


# -- succession in the fold ------------------------------------------------------------------


def test_an_open_dossier_passes_to_the_successor_with_its_due(engine: Engine) -> None:
    events = [
        _received("hs-1", "2025-06-20 09:00", due_at=ts("2025-07-10 17:00")),
        ev("resolved", "hs-1", "2025-07-08 10:00", "s"),
    ]
    timeline = engine.timeline("hs-1", events)
    assert timeline.owner == "s" and timeline.received and timeline.received.unit_id == "a"
    assert [(h.from_unit, h.to_unit, h.kind) for h in timeline.handovers] == [("a", "s", "owner")]
    assert timeline.due == at("2025-07-10 17:00")  # unchanged by the succession
    counts = contribution(timeline, engine.rules)
    # 15 June – 14 July is one period, 2025-07 (cut day 15): the work stays where it was done.
    assert counts["2025-07|a|received_direct"] == 1
    assert counts["2025-07|a|handed_over_out"] == 1
    assert counts["2025-07|s|handed_over_in"] == 1
    assert counts["2025-07|s|resolved_early"] == 1
    assert counts.get("2025-07|a|open_delta", 0) == 0  # +1 at reception, -1 at succession
    assert counts.get("2025-07|s|open_delta", 0) == 0  # +1 at succession, -1 at close
    assert "2025-07|a|resolved_early" not in counts


def test_a_dossier_closed_before_the_change_stays(engine: Engine) -> None:
    events = [
        _received("hs-2", "2025-06-20 09:00"),
        ev("resolved", "hs-2", "2025-06-27 10:00", "a"),
    ]
    timeline = engine.timeline("hs-2", events)
    assert timeline.owner == "a" and timeline.handovers == ()


def test_a_held_interagency_stage_passes_without_starting_or_ending(engine: Engine) -> None:
    events = [
        _received("hs-3", "2025-06-20 09:00", due_at=ts("2025-07-20 17:00")),
        ev("transferred", "hs-3", "2025-06-25 09:00", "a", to_unit_id="b"),
        ev("transferred", "hs-3", "2025-07-03 09:00", "t", to_unit_id="s"),
        ev("resolved", "hs-3", "2025-07-06 09:00", "s"),
    ]
    timeline = engine.timeline("hs-3", events)
    kinds = sorted((h.from_unit, h.to_unit, h.kind) for h in timeline.handovers)
    assert kinds == [("a", "s", "owner"), ("b", "t", "interagency")]
    stage = timeline.stages[1]
    assert (stage.unit_id, stage.received_by, stage.start, stage.end) == (
        "t",
        "b",
        at("2025-06-25 09:00"),
        at("2025-07-03 09:00"),
    )
    counts = contribution(timeline, engine.rules)
    assert counts["2025-07|b|received_interagency"] == 1
    assert counts["2025-07|b|handed_over_out"] == 1
    assert counts["2025-07|t|handed_over_in"] == 1
    assert counts["2025-07|t|resolved_early"] == 1  # the stage finished by its holder
    assert counts.get("2025-07|b|interagency_open_delta", 0) == 0
    assert counts.get("2025-07|t|interagency_open_delta", 0) == 0
    # Back at the owner (s, after the succession): the return is not inter-agency.
    assert not timeline.stages[2].interagency


def test_without_a_successor_the_unit_keeps_its_open_work(engine: Engine) -> None:
    events = [ev("received", "hs-4", "2025-06-20 09:00", "d", procedure_id="p", channel="online")]
    timeline = engine.timeline("hs-4", events)
    assert timeline.owner == "d" and timeline.handovers == ()
    assert contribution(timeline, engine.rules)["2025-07|d|open_delta"] == 1


def test_alerts_follow_the_holder(engine: Engine) -> None:
    events = [_received("hs-5", "2025-06-20 09:00", due_at=ts("2025-07-10 17:00"))]
    spans = engine.timeline("hs-5", events).armed
    assert [(s.unit_id, s.start, s.end) for s in spans] == [
        ("a", at("2025-06-20 09:00"), at("2025-07-01 00:00")),
        ("s", at("2025-07-01 00:00"), None),
    ]


def test_an_overdue_dossier_takes_its_overdue_level_along(engine: Engine) -> None:
    events = [_received("hs-6", "2025-06-16 09:00", due_at=ts("2025-06-25 17:00"))]
    timeline = engine.timeline("hs-6", events)
    assert timeline.overdue_changes == ((at("2025-06-25 17:00"), 1),)
    counts = contribution(timeline, engine.rules)
    # Overdue at a from 25 June (+1), moved to s on 1 July (-1 at a, +1 at s).
    assert "2025-07|a|overdue_delta" not in counts
    assert counts["2025-07|s|overdue_delta"] == 1


def test_a_horizon_before_the_change_leaves_the_dossier_in_place(engine: Engine) -> None:
    events = [_received("hs-7", "2025-06-20 09:00")]
    assert engine.timeline("hs-7", events, horizon=at("2025-06-30 23:00")).handovers == ()
    assert engine.timeline("hs-7", events, horizon=at("2025-07-01 00:00")).handovers != ()


def test_any_arrival_order_gives_the_same_contribution(engine: Engine) -> None:
    events = [
        _received("hs-8", "2025-06-20 09:00", due_at=ts("2025-07-20 17:00")),
        ev("transferred", "hs-8", "2025-06-25 09:00", "a", to_unit_id="b"),
        ev("supplement_requested", "hs-8", "2025-06-28 09:00", "b"),
        ev("supplemented", "hs-8", "2025-07-02 09:00", "t"),
        ev("transferred", "hs-8", "2025-07-03 09:00", "t", to_unit_id="s"),
        ev("paid", "hs-8", "2025-07-03 10:00", "s", channel="one_stop", amount_vnd=1000),
        ev("resolved", "hs-8", "2025-07-06 09:00", "s"),
    ]
    expected = contribution(engine.timeline("hs-8", events), engine.rules)
    rng = random.Random(7)
    for _ in range(20):
        shuffled = events + rng.sample(events, 2)  # with duplicates
        rng.shuffle(shuffled)
        assert contribution(engine.timeline("hs-8", shuffled), engine.rules) == expected


# -- snapshots: listing by validity, and the balance of open work -----------------------


def _snapshot(
    engine: Engine, streams: list[list[DossierEvent]], period: str
) -> dict[str, dict[str, Any]]:
    counters: dict[str, Counter[str]] = {}
    for number, events in enumerate(streams):
        for key, value in contribution(
            engine.timeline(f"hs-{number}", events), engine.rules
        ).items():
            name, unit, metric = split_key(key)
            if name[0].isdigit():
                counters.setdefault(name, Counter())[f"{unit}|{metric}"] += value
    snapshot = build_snapshot(
        period, engine.periods, engine.registry, counters, at("2026-01-01 00:00")
    )
    return {u["unit_id"]: u for u in snapshot["units"]}


def _open_work_balances(
    before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]
) -> None:
    for unit_id, row in before.items():
        arrived = (
            row["received_online"]
            + row["received_direct"]
            + row["received_interagency"]
            + row["handed_over_in"]
        )
        left = (
            row["resolved_early"]
            + row["resolved_on_time"]
            + row["resolved_late"]
            + row["withdrawn"]
            + row["handed_over_out"]
        )
        next_carried = after.get(unit_id, {}).get("carried_over", 0)
        assert row["carried_over"] + arrived - left == next_carried, unit_id


def test_units_are_listed_by_validity_and_open_work_balances(engine: Engine) -> None:
    streams: list[list[DossierEvent]] = [
        [_received("x", "2025-05-20 09:00")],  # open across the change: a → s
        [
            _received("x", "2025-06-20 09:00", due_at=ts("2025-07-30 17:00")),
            ev("transferred", "x", "2025-06-25 09:00", "a", to_unit_id="b"),
            ev("transferred", "x", "2025-07-03 09:00", "t", to_unit_id="s"),
        ],
        [ev("received", "x", "2025-06-20 09:00", "d", procedure_id="p", channel="online")],
        [ev("received", "x", "2025-07-20 09:00", "s", procedure_id="p", channel="online")],
    ]
    may, june, july = (_snapshot(engine, streams, p) for p in ("2025-06", "2025-07", "2025-08"))
    assert set(may) == {"a", "b", "d"}  # s and t start in the period after
    assert set(june) == {"a", "b", "d", "s", "t"}  # the change is inside 15 June – 14 July
    assert set(july) == {"s", "t", "d"}  # d: out of force, but its dossier is still open
    assert june["a"]["handed_over_out"] == 2 and june["s"]["handed_over_in"] == 2
    assert june["b"]["handed_over_out"] == 1 and june["t"]["handed_over_in"] == 1
    _open_work_balances(may, june)
    _open_work_balances(june, july)
    # The province's open work, counted dossier by dossier, equals the sum of its
    # units before and after the change: 1 open on 15 June (the May dossier, at a);
    # 3 on 15 July (two at s, one at d, out of force); nothing lost at the change.
    assert sum(u["carried_over"] for u in june.values()) == 1
    assert sum(u["carried_over"] for u in july.values()) == 3
    assert (july["s"]["carried_over"], july["d"]["carried_over"]) == (2, 1)


def test_every_permutation_of_a_small_stream_balances(engine: Engine) -> None:
    base = [
        _received("y", "2025-06-28 09:00", due_at=ts("2025-07-02 17:00")),
        ev("transferred", "y", "2025-06-29 09:00", "a", to_unit_id="b"),
        ev("withdrawn", "y", "2025-07-05 09:00", "s"),
    ]
    expected = contribution(engine.timeline("y", base), engine.rules)
    for order in itertools.permutations(base):
        assert contribution(engine.timeline("y", list(order)), engine.rules) == expected


def test_a_missing_apology_after_the_change_goes_to_the_successor(engine: Engine) -> None:
    """Found by tests/unit/test_properties_successions.py: overdue at a on Monday
    30 June; the next working morning a is out of force, so the missing apology is
    the successor's, and the successor's apology is the one that can silence it."""
    from tthc_monitor.core.alerts import plan_alerts

    events = [_received("hs-9", "2025-06-20 09:00", due_at=ts("2025-06-30 10:00"))]
    alerts = plan_alerts(engine.timeline("hs-9", events), engine.alert_rules)
    assert [(a.level, a.unit_id, a.fire_at) for a in alerts if a.level != "due_soon"] == [
        ("due_today", "a", at("2025-06-30 07:30")),
        ("overdue", "a", at("2025-06-30 10:00")),
        ("apology_missing", "s", at("2025-07-01 07:30")),
    ]
    events.append(ev("apologized", "hs-9", "2025-07-01 07:00", "s"))
    alerts = plan_alerts(engine.timeline("hs-9", events), engine.alert_rules)
    assert not [a for a in alerts if a.level == "apology_missing"]
