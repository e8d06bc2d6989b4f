"""Property tests of registry successions (docs/reference-data.md, "Units that start, end
and merge"): random dossier streams over a small versioned registry, folded by the pure
rules, checked against rules restated here from the raw events alone.

The registry (no parent links, so a snapshot row is the unit's own figures)::

    a ──┐ 1 Jul 2025        1 Oct 2025
    e ──┴──────────▶ s ───────────────▶ z      chain a→s→z, and a merge a+e→s
    b ─────────────▶ t                         a land branch renamed
    d ─────────────▶ (none)                    abolished: keeps its open work
    m ──────────────────────────────────▶ k    merged into a unit always in force
    k (always)          n (from 1 Oct 2025)    a unit that starts later

The streams respect validity as the ingest does (every event at a unit in force at its
``occurred_at``; a successor acts from the change on) and may put several events at one
instant, close a dossier while another unit holds it, or send events after the close.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.events import DossierEvent, Transferred
from schemas.reference import Procedure, Unit
from tests.eventkit import ev
from tthc_monitor.core.alerts import plan_alerts
from tthc_monitor.core.calendar import WorkingCalendar
from tthc_monitor.core.counters import contribution, split_key
from tthc_monitor.core.engine import Engine
from tthc_monitor.core.periods import LOCAL_TZ, PeriodScheme, shift_period
from tthc_monitor.core.snapshot import build_snapshot
from tthc_monitor.core.timeline import TYPE_ORDER, Timeline
from tthc_monitor.core.update import StoredEvent, plan_update
from tthc_monitor.reference.registry import Registry

T1, T2 = date(2025, 7, 1), date(2025, 10, 1)
# unit_id: (kind, valid_from, valid_to, successor_id)
UNITS: dict[str, tuple[str, date | None, date | None, str | None]] = {
    "a": ("commune_one_stop", None, T1, "s"),
    "e": ("commune_one_stop", None, T1, "s"),
    "s": ("commune_center", T1, T2, "z"),
    "z": ("commune_center", T2, None, None),
    "b": ("land_branch", None, T1, "t"),
    "t": ("land_branch", T1, None, None),
    "d": ("district_committee", None, T1, None),
    "m": ("tax", None, T2, "k"),
    "k": ("natural_resources_department", None, None, None),
    "n": ("commune_center", T2, None, None),
}
START = datetime(2025, 5, 2, 7, 0, tzinfo=LOCAL_TZ)
RECEPTION_SPAN_MINUTES = 60 * 24 * 200
# Same-instant steps on purpose (the type order decides), and long ones to cross changes.
STEPS_MINUTES = (0, 0, 5, 90, 60 * 20, 60 * 24 * 3, 60 * 24 * 9, 60 * 24 * 30)
SETTINGS = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
SCHEME = PeriodScheme(15)
CHANGES = (datetime(2025, 7, 1, tzinfo=LOCAL_TZ), datetime(2025, 10, 1, tzinfo=LOCAL_TZ))
_RANK = {name: rank for rank, name in enumerate(TYPE_ORDER)}


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=LOCAL_TZ)


def _change(unit_id: str) -> datetime | None:
    """The instant the unit hands its open work over (None: it never does)."""
    _, _, valid_to, successor = UNITS[unit_id]
    return _midnight(valid_to) if successor is not None and valid_to is not None else None


def _in_force(unit_id: str, at: datetime) -> bool:
    _, valid_from, valid_to, _ = UNITS[unit_id]
    day = at.astimezone(LOCAL_TZ).date()
    return (valid_from is None or valid_from <= day) and (valid_to is None or day < valid_to)


def _follow(unit_id: str, at: datetime) -> str:
    """Who holds, at ``at``, the work ``unit_id`` held when it got it (a change at ``at``
    has already happened)."""
    change = _change(unit_id)
    while change is not None and change <= at:
        unit_id = UNITS[unit_id][3] or unit_id
        change = _change(unit_id)
    return unit_id


def _registry(successions_until: datetime | None = None) -> Registry:
    """The registry; with ``successions_until``, only the successions up to that instant
    (the others' units still end, with no successor)."""
    units = {}
    for unit_id, (kind, valid_from, valid_to, successor) in UNITS.items():
        change = _change(unit_id)
        if successions_until is not None and change is not None and change > successions_until:
            successor = None
        units[unit_id] = Unit(
            unit_id=unit_id,
            name=unit_id.upper(),
            level="commune",
            kind=kind,
            report_group="IV",
            valid_from=valid_from,
            valid_to=valid_to,
            successor_id=successor,
        )

    def procedure(procedure_id: str, sector: str, days: int) -> Procedure:
        return Procedure(
            procedure_id=procedure_id,
            name=f"Thủ tục {procedure_id}",
            sector=sector,
            unit_id="k",
            processing_days=days,
            has_fee=True,
            online_payment=True,
            digitize_components=True,
            digitize_results=True,
        )

    procedures = {"p": procedure("p", "Hộ tịch", 5), "q": procedure("q", "Đất đai", 15)}
    return Registry(units=units, procedures=procedures)


class _Engines(dict[str, Engine]):
    """Kept out of hypothesis's failure reports (the registries are long to print)."""

    def __repr__(self) -> str:
        return "engines"


@pytest.fixture(scope="module")
def engines(calendar: WorkingCalendar) -> dict[str, Engine]:
    """The versioned engine, and engines whose registry lists only the successions up to
    before the first change (none) and before the second (the 1 July ones)."""
    return _Engines(
        {
            "all": Engine(_registry(), calendar, SCHEME),
            "none": Engine(_registry(_midnight(T1) - timedelta(minutes=1)), calendar, SCHEME),
            "first": Engine(_registry(_midnight(T2) - timedelta(minutes=1)), calendar, SCHEME),
        }
    )


# -- streams -------------------------------------------------------------------------------


def _due(draw: st.DrawFn, t: datetime, ahead: timedelta) -> str:
    """A due ``ahead`` of ``t``, or at times 10:00 on the eve of the next change: overdue
    there, and the missing apology falls due the morning after, at the successor."""
    later = [c for c in CHANGES if c > t + timedelta(hours=14)]
    if later and draw(st.integers(0, 3)) == 0:
        return (later[0] - timedelta(hours=14)).isoformat()
    return (t + ahead).isoformat()


@st.composite
def dossier_events(draw: st.DrawFn, dossier_id: str) -> list[DossierEvent]:
    """One dossier's events, each at a unit in force at its instant."""
    t = START + timedelta(minutes=draw(st.integers(0, RECEPTION_SPAN_MINUTES)))
    owner = draw(st.sampled_from([u for u in UNITS if _in_force(u, t)]))
    events: list[DossierEvent] = []

    def emit(kind: str, unit_id: str, **fields: Any) -> None:
        event_id = f"{dossier_id}-{len(events):02d}"
        events.append(ev(kind, dossier_id, t.isoformat(), unit_id, event_id=event_id, **fields))

    fields: dict[str, Any] = {
        "procedure_id": draw(st.sampled_from(["p", "q"])),
        "channel": draw(st.sampled_from(["online", "direct", "postal"])),
    }
    if draw(st.booleans()):
        fields["due_at"] = _due(draw, t, timedelta(days=draw(st.integers(0, 40)), hours=8))
    emit("received", owner, **fields)
    holder = owner  # the unit that got the current stage (before any succession)
    for _ in range(draw(st.integers(0, 8))):
        later = [c for c in CHANGES if c > t]
        if later and draw(st.integers(0, 5)) == 0:
            t = later[0]  # at the change's very instant: the successor acts at once
        else:
            t += timedelta(minutes=draw(st.sampled_from(STEPS_MINUTES)))
        owner_now, holder_now = _follow(owner, t), _follow(holder, t)
        actors = [u for u in dict.fromkeys((holder_now, owner_now)) if _in_force(u, t)]
        if not actors:
            break  # work left at an abolished unit: nobody may act on it any more
        kind = draw(
            st.sampled_from(
                [
                    "transferred",
                    "transferred",
                    "transferred",
                    "supplement_requested",
                    "supplemented",
                    "extended",
                    "digitized",
                    "paid",
                    "apologized",
                    "resolved",
                    "withdrawn",
                ]
            )
        )
        unit_id = draw(st.sampled_from(actors))
        if kind == "transferred":
            targets = [u for u in UNITS if u != holder_now and _in_force(u, t)]
            if not _in_force(holder_now, t) or not targets:
                continue
            back = owner_now in targets and draw(st.booleans())  # back to the owner
            target = owner_now if back else draw(st.sampled_from(targets))
            extra: dict[str, Any] = {"to_unit_id": target}
            if draw(st.booleans()):
                extra["stage_due_at"] = _due(draw, t, timedelta(days=draw(st.integers(0, 12))))
            emit(kind, holder_now, **extra)
            holder = target
        elif kind == "extended":
            emit(kind, unit_id, new_due_at=_due(draw, t, timedelta(days=draw(st.integers(0, 20)))))
        elif kind == "digitized":
            target_kind = draw(st.sampled_from(["components", "result"]))
            complete = target_kind == "result" or draw(st.booleans())
            emit(kind, unit_id, target=target_kind, complete=complete)
        elif kind == "paid":
            channel = draw(st.sampled_from(["national_portal", "one_stop", "offline"]))
            emit(kind, unit_id, channel=channel, amount_vnd=draw(st.integers(0, 10**6)))
        else:
            emit(kind, unit_id)
    # Most dossiers close in the end, some long after a change (a close drawn among the
    # steps alone is rare once hypothesis repeats its choices).
    ending = draw(st.sampled_from(["resolved", "withdrawn", "open"]))
    t += timedelta(minutes=draw(st.sampled_from(STEPS_MINUTES)))
    closer = [u for u in (_follow(owner, t), _follow(holder, t)) if _in_force(u, t)]
    if ending != "open" and closer:
        emit(ending, draw(st.sampled_from(closer)))
    return events


@st.composite
def streams(draw: st.DrawFn) -> dict[str, list[DossierEvent]]:
    count = draw(st.integers(1, 6))
    return {f"D{i}": draw(dossier_events(f"D{i}")) for i in range(count)}


# -- the rules restated from the raw events --------------------------------------------------


def _sequenced(events: Iterable[DossierEvent]) -> list[DossierEvent]:
    unique = {e.event_id: e for e in events}
    return sorted(unique.values(), key=lambda e: (e.occurred_at, _RANK[e.type], e.event_id))


def _walk(events: Iterable[DossierEvent], before: datetime | None) -> dict[str, Any]:
    """The dossier's open work just before ``before`` (all events when None), read
    straight from the events: the owner while open, and the holder of an open
    inter-agency stage (a stage is inter-agency when its unit was not the owner when it
    got it). Also where a withdrawal ended an inter-agency stage."""
    state: dict[str, Any] = {"work": Counter(), "owner": None, "stage_withdrawn": None}
    ordered = [e for e in _sequenced(events) if before is None or e.occurred_at < before]
    first = next((i for i, e in enumerate(ordered) if e.type == "received"), None)
    if first is None:
        return state
    received = ordered[first]
    owner, holder, interagency = received.unit_id, received.unit_id, False
    for event in ordered[first + 1 :]:
        if isinstance(event, Transferred):
            holder = event.to_unit_id
            interagency = holder != _follow(owner, event.occurred_at)
        elif event.type in ("resolved", "withdrawn"):
            if event.type == "withdrawn" and interagency:
                at = event.occurred_at
                state["stage_withdrawn"] = (_follow(holder, at), SCHEME.period_of(at))
            return state
    # Just before ``before``: a change at that very instant has not happened yet.
    now = (before or datetime.max.replace(tzinfo=LOCAL_TZ)) - timedelta(microseconds=1)
    state["owner"] = _follow(owner, now)
    state["work"][state["owner"]] += 1
    if interagency:
        state["work"][_follow(holder, now)] += 1
    return state


def _open_work(dossiers: Mapping[str, list[DossierEvent]], before: datetime) -> Counter[str]:
    total: Counter[str] = Counter()
    for events in dossiers.values():
        total.update(_walk(events, before)["work"])
    return total


# -- folding ---------------------------------------------------------------------------------


def _fold(engine: Engine, dossiers: Mapping[str, list[DossierEvent]]) -> dict[str, Timeline]:
    return {d: engine.timeline(d, events) for d, events in dossiers.items()}


def _counters(engine: Engine, timelines: Iterable[Timeline]) -> dict[str, Counter[str]]:
    counters: dict[str, Counter[str]] = {}
    for timeline in timelines:
        for key, value in contribution(timeline, engine.rules).items():
            name, unit_id, metric = split_key(key)
            if name[0].isdigit():
                counters.setdefault(name, Counter())[f"{unit_id}|{metric}"] += value
    return counters


def _periods(dossiers: Mapping[str, list[DossierEvent]]) -> list[str]:
    """Every period from before the first event to two after the last (and past both
    changes)."""
    last = max(e.occurred_at for events in dossiers.values() for e in events)
    last = max(last, _midnight(T2) + timedelta(days=31))
    period, end = SCHEME.period_of(START - timedelta(days=31)), SCHEME.period_of(last)
    names = [period]
    while names[-1] <= shift_period(end, 2):
        names.append(shift_period(names[-1], 1))
    return names


def _snapshots(
    engine: Engine, dossiers: Mapping[str, list[DossierEvent]]
) -> dict[str, dict[str, dict[str, Any]]]:
    counters = _counters(engine, _fold(engine, dossiers).values())
    as_of = datetime(2027, 1, 1, tzinfo=LOCAL_TZ)
    return {
        period: {
            u["unit_id"]: u
            for u in build_snapshot(period, SCHEME, engine.registry, counters, as_of)["units"]
        }
        for period in _periods(dossiers)
    }


def _row(snapshot: Mapping[str, dict[str, Any]], unit_id: str) -> dict[str, Any]:
    """A unit's row; a unit not listed has every figure zero."""
    return snapshot.get(unit_id) or {"unit_id": unit_id}


def _figure(row: Mapping[str, Any], name: str) -> int:
    return int(row.get(name, 0))


# -- 1. order and duplication ------------------------------------------------------------------


def test_the_streams_respect_validity(engines: dict[str, Engine]) -> None:
    """The generator's premise, checked once on many dossiers: the ingest accepts every
    event (no unit out of force), and the successions actually happen."""
    engine = engines["all"]
    handovers = 0

    @SETTINGS
    @given(dossiers=streams())
    def check(dossiers: dict[str, list[DossierEvent]]) -> None:
        nonlocal handovers
        for events in dossiers.values():
            for event in events:
                engine.check_references(event)
        handovers += sum(len(t.handovers) for t in _fold(engine, dossiers).values())

    check()
    assert handovers > 50


def _incremental(engine: Engine, arrivals: list[list[DossierEvent]]) -> Counter[str]:
    """The store's way: per-dossier stored events and contribution, deltas applied."""
    stored: dict[str, list[StoredEvent]] = {}
    applied: dict[str, dict[str, int]] = {}
    counters: Counter[str] = Counter()
    for batch in arrivals:
        by_dossier: dict[str, list[DossierEvent]] = {}
        for event in batch:
            by_dossier.setdefault(event.dossier_id, []).append(event)
        for dossier_id, incoming in by_dossier.items():
            update = plan_update(
                engine,
                dossier_id,
                stored.get(dossier_id, []),
                applied.get(dossier_id, {}),
                incoming,
            )
            counters.update(update.changes)
            stored[dossier_id] = update.events
            applied[dossier_id] = update.contribution
    return +Counter({k: v for k, v in counters.items() if v})


@SETTINGS
@given(dossiers=streams(), data=st.data())
def test_any_order_any_duplicates_same_timeline_and_counters(
    engines: dict[str, Engine], dossiers: dict[str, list[DossierEvent]], data: st.DataObject
) -> None:
    engine = engines["all"]
    expected = _fold(engine, dossiers)
    stream = [e for events in dossiers.values() for e in events]
    stream += data.draw(st.lists(st.sampled_from(stream), max_size=len(stream)))
    shuffled = data.draw(st.permutations(stream))
    arrived: dict[str, list[DossierEvent]] = {}
    for event in shuffled:
        arrived.setdefault(event.dossier_id, []).append(event)
    assert _fold(engine, arrived) == expected
    one_pass: Counter[str] = Counter()
    for timeline in expected.values():
        one_pass.update(contribution(timeline, engine.rules))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(shuffled)), max_size=4)))
    batches = [shuffled[a:b] for a, b in zip([0, *cuts], [*cuts, len(shuffled)], strict=True)]
    assert _incremental(engine, batches) == +one_pass


# -- 2. every unit's open work balances --------------------------------------------------------


@SETTINGS
@given(dossiers=streams())
def test_every_units_open_work_balances(
    engines: dict[str, Engine], dossiers: dict[str, list[DossierEvent]]
) -> None:
    """carried over + received + handed over in − resolved − withdrawn − handed over out
    = next carried over, for every unit and period, listed or not. The one term the
    snapshot has no figure for (docs/spec-readings.md): an inter-agency stage ended by
    the owner's withdrawal leaves its holder, counted here from the events."""
    snapshots = _snapshots(engines["all"], dossiers)
    stage_withdrawn = Counter(
        _walk(events, None)["stage_withdrawn"] for events in dossiers.values()
    )
    periods = list(snapshots)
    for period, following in pairwise(periods):
        for unit_id in UNITS:
            row = _row(snapshots[period], unit_id)
            arrived = sum(
                _figure(row, f)
                for f in ("received_online", "received_direct", "received_interagency")
            ) + _figure(row, "handed_over_in")
            left = sum(
                _figure(row, f)
                for f in ("resolved_early", "resolved_on_time", "resolved_late", "withdrawn")
            ) + _figure(row, "handed_over_out")
            left += stage_withdrawn[(unit_id, period)]
            balance = _figure(row, "carried_over") + arrived - left
            assert balance == _figure(_row(snapshots[following], unit_id), "carried_over"), (
                unit_id,
                period,
            )


# -- 3. conservation of the province's open work ---------------------------------------------


@SETTINGS
@given(dossiers=streams())
def test_open_work_at_each_period_start_equals_a_count_from_the_events(
    engines: dict[str, Engine], dossiers: dict[str, list[DossierEvent]]
) -> None:
    """Each unit's carried over, and so the province's total, is the open work counted
    dossier by dossier from the raw events at the period's start: nothing is lost or
    counted twice at a change, and work kept by an abolished unit is still listed."""
    for period, snapshot in _snapshots(engines["all"], dossiers).items():
        expected = _open_work(dossiers, SCHEME.start(period))
        found = Counter({u: r["carried_over"] for u, r in snapshot.items() if r["carried_over"]})
        assert found == +expected, period
        assert sum(found.values()) == sum(expected.values())


@SETTINGS
@given(dossiers=streams())
def test_in_progress_at_each_period_end_is_at_the_owner_then(
    engines: dict[str, Engine], dossiers: dict[str, list[DossierEvent]]
) -> None:
    """In progress (within + overdue) at the end of a period is each unit's owned open
    dossiers counted from the events, and the overdue part is the dossiers whose fold
    says overdue then, at their owner of that instant: the overdue state moves with
    the dossier."""
    timelines = _fold(engines["all"], dossiers)
    for period, snapshot in _snapshots(engines["all"], dossiers).items():
        end = SCHEME.end(period)
        owned: Counter[str] = Counter()
        overdue: Counter[str] = Counter()
        for dossier_id, events in dossiers.items():
            owner = _walk(events, end)["owner"]
            if owner is None:
                continue
            owned[owner] += 1
            level = sum(d for x, d in timelines[dossier_id].overdue_changes if x < end)
            assert level in (0, 1)
            overdue[owner] += level
        for unit_id in UNITS:
            row = _row(snapshot, unit_id)
            assert _figure(row, "in_progress_overdue") == overdue[unit_id], (unit_id, period)
            assert (
                _figure(row, "in_progress_within") + _figure(row, "in_progress_overdue")
                == owned[unit_id]
            ), (unit_id, period)


# -- 4. handovers ----------------------------------------------------------------------------


@SETTINGS
@given(dossiers=streams())
def test_handovers_balance_and_come_only_from_units_with_a_successor(
    engines: dict[str, Engine], dossiers: dict[str, list[DossierEvent]]
) -> None:
    engine = engines["all"]
    for timeline in _fold(engine, dossiers).values():
        for handover in timeline.handovers:
            assert UNITS[handover.from_unit][3] == handover.to_unit
            assert handover.at == _change(handover.from_unit)
    snapshots = _snapshots(engine, dossiers)
    for period, snapshot in snapshots.items():
        out = sum(r["handed_over_out"] for r in snapshot.values())
        into = sum(r["handed_over_in"] for r in snapshot.values())
        assert out == into, period
        for unit_id, row in snapshot.items():
            if row["handed_over_out"]:
                change = _change(unit_id)
                assert change is not None and SCHEME.period_of(change) == period
    # What each unit hands over is its open work just before the change.
    for unit_id in UNITS:
        change = _change(unit_id)
        if change is None:
            continue
        row = _row(snapshots[SCHEME.period_of(change)], unit_id)
        assert _figure(row, "handed_over_out") == _open_work(dossiers, change)[unit_id]
    for day in (T1, T2):
        change = _midnight(day)
        before = _open_work(dossiers, change)
        for successor in {UNITS[u][3] for u in UNITS if _change(u) == change}:
            assert successor is not None
            handed = sum(before[u] for u in UNITS if UNITS[u][3] == successor)
            row = _row(snapshots[SCHEME.period_of(change)], successor)
            assert _figure(row, "handed_over_in") == handed


# -- 5. the horizon ----------------------------------------------------------------------------


@SETTINGS
@given(dossiers=streams(), data=st.data())
def test_a_horizon_applies_only_the_successions_up_to_it(
    engines: dict[str, Engine], dossiers: dict[str, list[DossierEvent]], data: st.DataObject
) -> None:
    """engine.timeline(..., horizon) equals the fold over a registry that lists only
    the successions up to the horizon (none before the first change)."""
    changes = list(CHANGES)
    horizon = data.draw(
        st.one_of(
            st.integers(0, 60 * 24 * 330).map(lambda m: START + timedelta(minutes=m)),
            # At a change's very instant the succession is applied (and a minute before, not).
            st.sampled_from(changes + [c - timedelta(minutes=1) for c in changes]),
        )
    )
    if horizon < _midnight(T1):
        cut = engines["none"]
    elif horizon < _midnight(T2):
        cut = engines["first"]
    else:
        cut = engines["all"]
    engine = engines["all"]
    for dossier_id, events in dossiers.items():
        limited = engine.timeline(dossier_id, events, horizon)
        assert limited == cut.timeline(dossier_id, events)
        assert contribution(limited, engine.rules) == contribution(
            cut.timeline(dossier_id, events), cut.rules
        )
        if horizon < _midnight(T1):
            assert limited.handovers == ()


# -- 6. deadline spans follow the holder ---------------------------------------------------


@SETTINGS
@given(dossiers=streams())
def test_armed_spans_follow_the_holder(
    engines: dict[str, Engine], dossiers: dict[str, list[DossierEvent]]
) -> None:
    """No span runs at a unit after it handed its work over; a span running at the
    change goes on at the successor from that instant (unless the dossier closed, was
    paused or moved on at that very instant); an abolished unit without a successor
    keeps its spans. No alert goes to a unit after it handed the work over."""
    engine = engines["all"]
    for timeline in _fold(engine, dossiers).values():
        stoppers = {
            e.occurred_at
            for e in timeline.counted
            if e.type in ("resolved", "withdrawn", "supplement_requested", "transferred")
        }
        for span in timeline.armed:
            change = _change(span.unit_id)
            if change is None:
                continue  # in force throughout, or kept by an abolished unit
            assert _in_force(span.unit_id, span.start)
            assert span.end is not None and span.end <= change, span
            if span.end == change and change not in stoppers:
                successor = UNITS[span.unit_id][3]
                assert any(
                    (s.stage, s.index, s.unit_id, s.start)
                    == (span.stage, span.index, successor, change)
                    for s in timeline.armed
                ), span
        # And so do the alerts, the missing apology the morning after included.
        for alert in plan_alerts(timeline, engine.alert_rules):
            change = _change(alert.unit_id)
            assert change is None or alert.fire_at < change, alert
