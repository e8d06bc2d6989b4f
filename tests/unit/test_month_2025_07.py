"""The month across the 1 July 2025 reorganisation (``simulate quangtri-2025-07``), folded
by the pure rules: every event accepted, open work handed over, every unit's open work
balancing, and the province's totals equal to the sum of its units before and after."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

import pytest

from schemas.events import DossierEvent
from tthc_monitor.core.calendar import WorkingCalendar
from tthc_monitor.core.counters import contribution, split_key
from tthc_monitor.core.engine import Engine
from tthc_monitor.core.periods import PeriodScheme
from tthc_monitor.core.snapshot import build_snapshot
from tthc_monitor.ingest import Rejection, decode
from tthc_monitor.reference.registry import load_registry
from tthc_monitor.simulate.quangtri.reorganisation import write_quangtri_2025_07

PERIODS = ("2025-07", "2025-08")


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory, calendar: WorkingCalendar) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("qt2507") / "events.jsonl"
    count = write_quangtri_2025_07(None, None, calendar, out, seed=1)
    registry = load_registry(out.with_suffix(".units"))
    engine = Engine(registry, calendar, PeriodScheme(15))
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == count > 5000
    events: dict[str, list[DossierEvent]] = defaultdict(list)
    rejected = []
    for line in lines:
        event = decode(line, engine)
        if isinstance(event, Rejection):
            rejected.append((line, event.reason))
        else:
            events[event.dossier_id].append(event)
    counters: dict[str, Counter[str]] = defaultdict(Counter)
    timelines = {}
    for dossier_id, dossier_events in events.items():
        timeline = engine.timeline(dossier_id, dossier_events)
        timelines[dossier_id] = timeline
        for key, value in contribution(timeline, engine.rules).items():
            name, unit, metric = split_key(key)
            if name[0].isdigit():
                counters[name][f"{unit}|{metric}"] += value
    as_of = datetime.fromisoformat("2026-01-01T00:00:00+07:00")
    snapshots = {
        p: {
            u["unit_id"]: u
            for u in build_snapshot(p, engine.periods, registry, counters, as_of)["units"]
        }
        for p in ("2025-06", *PERIODS, "2025-09")
    }
    return {
        "engine": engine,
        "registry": registry,
        "raw": [json.loads(line) for line in lines],
        "rejected": rejected,
        "timelines": timelines,
        "snapshots": snapshots,
    }


def test_every_event_is_accepted_and_counted(month: dict[str, Any]) -> None:
    assert month["rejected"] == []
    assert all(not t.refused for t in month["timelines"].values())


def test_open_work_is_handed_over_at_the_change(month: dict[str, Any]) -> None:
    july = month["snapshots"]["2025-07"]
    out = {u: r["handed_over_out"] for u, r in july.items() if r["handed_over_out"]}
    into = {u: r["handed_over_in"] for u, r in july.items() if r["handed_over_in"]}
    assert sum(out.values()) == sum(into.values()) > 100
    successor = {u.unit_id: u.successor_id for u in month["registry"].units.values()}
    assert all(successor[u] is not None for u in out)  # only units with a successor
    assert all(u.endswith("-2025") for u in into)
    # Abolished units without a successor keep theirs: open at a unit out of force.
    august = month["snapshots"]["2025-08"]
    kept = [u for u in august if u.startswith("ubnd-") and august[u]["carried_over"]]
    assert kept


def test_units_are_listed_by_validity(month: dict[str, Any]) -> None:
    june, july, august = (month["snapshots"][p] for p in ("2025-06", "2025-07", "2025-08"))
    assert not any(u.startswith(("xa-1", "phuong-", "dac-khu-")) for u in june)
    assert "so-tu-phap" in july and "so-tu-phap-2025" in july and "dac-khu-19742" in july
    assert "so-tu-phap" not in august and "so-tu-phap-2025" in august
    assert len([u for u in august if month["registry"].unit(u).kind == "commune_center"]) == 78


def _balance(row: dict[str, int]) -> int:
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
    return row["carried_over"] + arrived - left


@pytest.mark.parametrize("period", PERIODS)
def test_every_units_open_work_balances(month: dict[str, Any], period: str) -> None:
    snapshots = month["snapshots"]
    following = {"2025-07": "2025-08", "2025-08": "2025-09"}[period]
    for unit_id, row in snapshots[period].items():
        if month["registry"].unit(unit_id).parent_id is not None:
            continue  # rolled up into its parent's row
        assert _balance(row) == snapshots[following].get(unit_id, {}).get("carried_over", 0), (
            unit_id
        )


def _open_at(raw: list[dict[str, Any]], instant: str) -> int:
    """Open work at an instant counted from the events alone: each dossier received
    before it and not closed, plus one for a stage out at another unit (the scenario
    sends a dossier out once and back once)."""
    by_dossier: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in raw:
        if event["occurred_at"] < instant:
            by_dossier[event["dossier_id"]].append(event)
    work = 0
    for events in by_dossier.values():
        types = [e["type"] for e in events]
        if "received" not in types or "resolved" in types or "withdrawn" in types:
            continue
        work += 1 + (types.count("transferred") == 1)
    return work


@pytest.mark.parametrize(
    ("period", "start"),
    [("2025-07", "2025-06-15T00:00:00+07:00"), ("2025-08", "2025-07-15T00:00:00+07:00")],
)
def test_the_provinces_totals_are_the_sum_of_its_units(
    month: dict[str, Any], period: str, start: str
) -> None:
    rows = month["snapshots"][period].values()
    top = [r for r in rows if r["parent_id"] is None]
    assert sum(r["carried_over"] for r in top) == _open_at(month["raw"], start)
