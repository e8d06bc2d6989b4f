"""Property tests: arrival order, duplication and batching never change the counters."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.events import DossierEvent
from tests.eventkit import ev
from tthc_monitor.core.counters import contribution
from tthc_monitor.core.engine import Engine
from tthc_monitor.core.periods import LOCAL_TZ
from tthc_monitor.core.update import StoredEvent, plan_update

UNITS = ["xa-cam-lo", "cn-vpdkdd-cam-lo", "chi-cuc-thue-cam-lo", "so-tu-phap", "mot-cua-cam-lo"]
PROCEDURES = ["1.004227", "qt.so-tu-phap.002", "qt.so-tu-phap.001"]
START = datetime(2022, 2, 1, 7, 0, tzinfo=LOCAL_TZ)


@st.composite
def dossier_events(draw: st.DrawFn, dossier_id: str) -> list[DossierEvent]:
    owner = draw(st.sampled_from(UNITS))
    t = START + timedelta(minutes=draw(st.integers(0, 60 * 24 * 90)))
    stamp = lambda: t.isoformat()  # noqa: E731
    events: list[DossierEvent] = []
    fields: dict[str, Any] = {
        "procedure_id": draw(st.sampled_from(PROCEDURES)),
        "channel": draw(st.sampled_from(["online", "direct", "postal"])),
    }
    if draw(st.booleans()):
        fields["due_at"] = (t + timedelta(days=draw(st.integers(0, 20)), hours=8)).isoformat()
    events.append(ev("received", dossier_id, stamp(), owner, **fields))
    holder = owner
    for _ in range(draw(st.integers(0, 9))):
        # Same-instant events are allowed on purpose: the type order decides.
        t += timedelta(minutes=draw(st.sampled_from([0, 5, 90, 60 * 20, 60 * 24 * 3, 60 * 24 * 9])))
        kind = draw(
            st.sampled_from(
                [
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
                    "received",
                ]
            )
        )
        unit = holder
        extra: dict[str, Any] = {}
        if kind == "transferred":
            target = draw(st.sampled_from([u for u in UNITS if u != holder]))
            extra["to_unit_id"] = target
            if draw(st.booleans()):
                extra["stage_due_at"] = (t + timedelta(days=draw(st.integers(0, 6)))).isoformat()
            holder = target
        elif kind == "extended":
            extra["new_due_at"] = (t + timedelta(days=draw(st.integers(0, 10)))).isoformat()
        elif kind == "digitized":
            target_kind = draw(st.sampled_from(["components", "result"]))
            extra.update(
                target=target_kind,
                complete=True if target_kind == "result" else draw(st.booleans()),
            )
        elif kind == "paid":
            extra.update(
                channel=draw(st.sampled_from(["national_portal", "one_stop", "offline"])),
                amount_vnd=draw(st.integers(0, 10**7)),
            )
        elif kind == "received":
            extra.update(procedure_id=fields["procedure_id"], channel="online")
        events.append(ev(kind, dossier_id, t.isoformat(), unit, **extra))
    # Some events may be dated before the received one.
    if draw(st.booleans()):
        early = START - timedelta(days=1)
        events.append(ev("apologized", dossier_id, early.isoformat(), owner))
    return events


def one_pass(engine: Engine, dossiers: dict[str, list[DossierEvent]]) -> Counter[str]:
    total: Counter[str] = Counter()
    for dossier_id, events in dossiers.items():
        total.update(contribution(engine.timeline(dossier_id, events), engine.rules))
    return +total


def incremental(engine: Engine, arrivals: list[list[DossierEvent]]) -> Counter[str]:
    """Apply batches the way the store does, keeping per-dossier state in dicts."""
    events: dict[str, list[StoredEvent]] = {}
    contributions: dict[str, dict[str, int]] = {}
    counters: Counter[str] = Counter()
    for batch in arrivals:
        by_dossier: dict[str, list[DossierEvent]] = {}
        for event in batch:
            by_dossier.setdefault(event.dossier_id, []).append(event)
        for dossier_id, incoming in by_dossier.items():
            update = plan_update(
                engine,
                dossier_id,
                events.get(dossier_id, []),
                contributions.get(dossier_id, {}),
                incoming,
            )
            counters.update(update.changes)
            events[dossier_id] = update.events
            contributions[dossier_id] = update.contribution
    return +Counter({k: v for k, v in counters.items() if v})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_order_any_duplicates_same_counters(engine: Engine, data: st.DataObject) -> None:
    n = data.draw(st.integers(1, 4))
    dossiers = {f"D{i}": data.draw(dossier_events(f"D{i}")) for i in range(n)}
    stream = [e for events in dossiers.values() for e in events]
    stream += data.draw(st.lists(st.sampled_from(stream), max_size=len(stream)))  # redelivery
    shuffled = data.draw(st.permutations(stream))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(shuffled)), max_size=5)))
    arrivals = [shuffled[a:b] for a, b in zip([0, *cuts], [*cuts, len(shuffled)], strict=True)]
    assert incremental(engine, arrivals) == one_pass(engine, dossiers)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_one_at_a_time_equals_batch(engine: Engine, data: st.DataObject) -> None:
    events = data.draw(dossier_events("D"))
    order = data.draw(st.permutations(events))
    assert incremental(engine, [[e] for e in order]) == incremental(engine, [events])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_levels_never_negative(engine: Engine, data: st.DataObject) -> None:
    """The open and overdue indicators are 0/1 at every instant, whatever the history."""
    events = data.draw(dossier_events("D"))
    timeline = engine.timeline("D", events)
    level = 0
    for _, delta in sorted(timeline.overdue_changes):
        level += delta
        assert level in (0, 1)
    assert level == 0 or timeline.closed_at is None
