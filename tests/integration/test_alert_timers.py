"""One timer per dossier (docs/alerts.md, "How alerts are scheduled"): the write stores
the plan record and the next fire time, the claim fires what is due and moves the timer
to the next alert, a late event replaces the record, and the horizon holds; against a
real Redis, through DossierStore and AlertStore."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime

import pytest
from redis.asyncio import Redis

from schemas.events import DossierEvent
from tests.eventkit import ev, ts
from tests.integration.conftest import Services
from tthc_monitor.core.alerts import plan_alerts
from tthc_monitor.core.engine import Engine
from tthc_monitor.core.schedule import epoch
from tthc_monitor.core.update import encode_event
from tthc_monitor.store.alert_store import AlertStore
from tthc_monitor.store.redis_store import DossierStore, Incoming
from tthc_monitor.store.schedule_codec import decode_outbox, encode_record
from tthc_monitor.store.state import encode_state

pytestmark = pytest.mark.integration

UNIT = "so-tu-phap"
EVERY_LEVEL = ["due_soon", "due_today", "overdue", "apology_missing"]
"""A dossier never resolved: each alert of its owner stage, in fire order."""
JUSTICE = "qt.so-tu-phap.002"


def at(value: str) -> datetime:
    return datetime.fromisoformat(ts(value))


def received(d: str) -> DossierEvent:
    return ev(
        "received",
        d,
        "2022-03-21 09:00",
        UNIT,
        procedure_id=JUSTICE,
        channel="direct",
        due_at=ts("2022-03-24 17:00"),
    )


class Clock:
    def __init__(self, now: str) -> None:
        self.now = at(now)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def redis(services: Services) -> AsyncIterator[Redis]:
    client = Redis.from_url(services.redis_url, decode_responses=True)
    namespace = f"tm{uuid.uuid4().hex[:8]}"
    client.namespace = namespace  # type: ignore[attr-defined]
    yield client
    keys = [k async for k in client.scan_iter(f"{namespace}:*", count=1000)]
    if keys:
        await client.delete(*keys)
    await client.aclose()


async def levels_queued(redis: Redis, ns: str) -> list[str]:
    items = await redis.lrange(f"{ns}:alerts:outbox:kafka", 0, -1)
    return [decode_outbox(item).level for item in reversed(items)]


async def test_one_timer_fires_each_alert_once_and_moves_to_the_next(
    redis: Redis, engine: Engine
) -> None:
    ns = redis.namespace  # type: ignore[attr-defined]
    clock = Clock("2022-03-21 09:00")
    store = DossierStore(redis, engine, ns, clock)
    alerts = AlertStore(redis, ns, ["kafka"])
    await store.apply([Incoming(received("S1"))])
    assert await redis.zrange(f"{ns}:timers", 0, -1, withscores=True) == [
        ("S1", epoch(at("2022-03-23 07:30")))
    ]
    record = await redis.hget(f"{ns}:alert", "S1")
    assert record is not None and record.count("\n") == 4

    claimed = await alerts.claim(at("2022-03-23 08:00"), 100)
    assert (claimed.taken, claimed.queued) == (1, 1)
    assert await levels_queued(redis, ns) == ["due_soon"]
    assert await redis.zscore(f"{ns}:timers", "S1") == epoch(at("2022-03-24 07:30"))
    again = await alerts.claim(at("2022-03-23 08:00"), 100)
    assert (again.taken, again.queued) == (0, 0)

    # A worker down for days fires everything due at once, in fire order, once.
    claimed = await alerts.claim(at("2022-03-28 08:00"), 100)
    assert (claimed.taken, claimed.queued) == (1, 3)
    assert await levels_queued(redis, ns) == EVERY_LEVEL
    assert await redis.exists(f"{ns}:timers", f"{ns}:alert") == 0
    assert await redis.zcard(f"{ns}:fired") == 4
    stats = await redis.hgetall(f"{ns}:stats")
    assert stats["alerts_fired:due_soon"] == stats["alerts_fired:apology_missing"] == "1"


async def test_a_late_event_replaces_the_plan_and_fired_alerts_never_return(
    redis: Redis, engine: Engine
) -> None:
    ns = redis.namespace  # type: ignore[attr-defined]
    clock = Clock("2022-03-21 09:00")
    store = DossierStore(redis, engine, ns, clock)
    alerts = AlertStore(redis, ns, ["kafka"])
    await store.apply([Incoming(received("S2"))])
    assert (await alerts.claim(at("2022-03-23 08:00"), 100)).queued == 1
    # Resolved on 23/3: due_today and later are no longer warranted; due_soon fired.
    clock.now = at("2022-03-23 16:00")
    await store.apply([Incoming(ev("resolved", "S2", "2022-03-23 15:00", UNIT))])
    assert await redis.exists(f"{ns}:timers", f"{ns}:alert") == 0
    assert (await alerts.claim(at("2022-04-30 08:00"), 100)).queued == 0
    assert await levels_queued(redis, ns) == ["due_soon"]


async def test_alerts_older_than_the_horizon_are_scheduled_only_if_already(
    redis: Redis, engine: Engine
) -> None:
    ns = redis.namespace  # type: ignore[attr-defined]
    clock = Clock("2022-05-01 09:00")
    store = DossierStore(redis, engine, ns, clock)
    await store.apply([Incoming(received("S3"))])
    assert await redis.exists(f"{ns}:timers", f"{ns}:alert") == 0

    clock.now = at("2022-03-21 09:00")
    await store.apply([Incoming(received("S4"))])
    before = await redis.hget(f"{ns}:alert", "S4")
    clock.now = at("2022-05-01 09:00")  # a write long after, nothing fired meanwhile
    await store.apply(
        [
            Incoming(
                ev("digitized", "S4", "2022-03-21 10:00", UNIT, target="components", complete=True)
            )
        ]
    )
    assert await redis.hget(f"{ns}:alert", "S4") == before
    assert await redis.zscore(f"{ns}:timers", "S4") == epoch(at("2022-03-23 07:30"))


async def test_a_store_of_the_layout_before_moves_to_one_timer_without_loss_or_repeat(
    redis: Redis, engine: Engine
) -> None:
    """Before issue 15: a timer and a record per alert, the ids listed in the state. The
    claim fires those as before; the next write moves the rest into the record."""
    ns = redis.namespace  # type: ignore[attr-defined]
    clock = Clock("2022-03-21 09:00")
    store = DossierStore(redis, engine, ns, clock)
    alerts = AlertStore(redis, ns, ["kafka"])
    event = received("S5")
    plan = plan_alerts(engine.timeline("S5", [event]), engine.alert_rules)
    state = encode_state(
        [encode_event(event)], {}, {a.alert_id: epoch(a.fire_at) for a in plan}, []
    )
    await redis.set(f"{ns}:d:S5".encode(), b"1:" + state)
    await redis.hset(f"{ns}:eid", event.event_id, "S5")
    for alert in plan:
        await redis.zadd(f"{ns}:timers", {alert.alert_id: epoch(alert.fire_at)})
        await redis.hset(f"{ns}:alert", alert.alert_id, encode_record(alert))
    claimed = await alerts.claim(at("2022-03-23 08:00"), 100)  # due_soon, the old way
    assert (claimed.taken, claimed.queued) == (1, 1)

    clock.now = at("2022-03-23 09:00")
    await store.apply(
        [
            Incoming(
                ev("digitized", "S5", "2022-03-23 08:30", UNIT, target="components", complete=True)
            )
        ]
    )
    assert await redis.zrange(f"{ns}:timers", 0, -1) == ["S5"]
    assert await redis.hkeys(f"{ns}:alert") == ["S5"]
    await alerts.claim(at("2022-03-28 08:00"), 100)
    assert await levels_queued(redis, ns) == EVERY_LEVEL


async def test_a_plan_neutral_write_keeps_the_record_and_the_timer_as_they_are(
    redis: Redis, engine: Engine
) -> None:
    """``digitized`` and ``paid`` cannot change the plan (core/update.py): the write sends
    "=" instead of the plan, and the record left by the claim (due_soon fired, three
    lines) stays, its timer at the next alert."""
    ns = redis.namespace  # type: ignore[attr-defined]
    clock = Clock("2022-03-21 09:00")
    store = DossierStore(redis, engine, ns, clock)
    alerts = AlertStore(redis, ns, ["kafka"])
    await store.apply([Incoming(received("S6"))])
    assert (await alerts.claim(at("2022-03-23 08:00"), 100)).queued == 1
    record = await redis.hget(f"{ns}:alert", "S6")
    timer = await redis.zscore(f"{ns}:timers", "S6")
    assert record is not None and record.count("\n") == 3

    clock.now = at("2022-03-23 10:00")
    await store.apply(
        [Incoming(ev("paid", "S6", "2022-03-23 09:30", UNIT, channel="one_stop", amount_vnd=50000))]
    )
    assert await redis.hget(f"{ns}:alert", "S6") == record
    assert await redis.zscore(f"{ns}:timers", "S6") == timer
    assert (await alerts.claim(at("2022-03-28 08:00"), 100)).queued == 3
    assert await levels_queued(redis, ns) == EVERY_LEVEL
