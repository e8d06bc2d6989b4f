"""Orphans: events of a dossier whose `received` has not arrived are held and counted.

The count is part of the dossier's own contribution (the "all" hash), so it moves in the
same atomic write as the rest and returns to 0 when the `received` arrives; the held
events are then applied as if they had come in order.
"""

from __future__ import annotations

from tests.eventkit import ev
from tthc_monitor.core.engine import Engine
from tthc_monitor.core.update import plan_update

D = "ORPHAN-2"
UNIT = "so-tu-phap"


def test_held_events_are_counted_then_applied_when_received_arrives(engine: Engine) -> None:
    procedure = next(iter(engine.registry.procedures_of(UNIT))).procedure_id
    resolved = ev("resolved", D, "2022-03-22 09:00", UNIT)
    paid = ev("paid", D, "2022-03-21 10:00", UNIT, channel="one_stop", amount_vnd=50000)
    received = ev("received", D, "2022-03-21 09:00", UNIT, procedure_id=procedure, channel="online")

    first = plan_update(engine, D, [], {}, [resolved, paid])
    assert first.changes == {"all||orphan_dossiers": 1, "all||orphan_events": 2}

    late = plan_update(engine, D, first.events, first.contribution, [received])
    assert late.changes["all||orphan_dossiers"] == -1
    assert late.changes["all||orphan_events"] == -2
    assert late.changes["all||dossiers"] == 1
    assert not any(k.startswith("all||orphan") for k in late.contribution)

    # The same figures as the three events in order, in one write.
    in_order = plan_update(engine, D, [], {}, [received, paid, resolved])
    assert late.contribution == in_order.contribution
    assert late.changes == {
        **in_order.changes,
        "all||orphan_dossiers": -1,
        "all||orphan_events": -2,
    }


def test_a_second_orphan_event_moves_only_the_held_count(engine: Engine) -> None:
    first = plan_update(engine, D, [], {}, [ev("resolved", D, "2022-03-22 09:00", UNIT)])
    more = plan_update(
        engine, D, first.events, first.contribution, [ev("apologized", D, "2022-03-23 08:00", UNIT)]
    )
    assert more.changes == {"all||orphan_events": 1}
