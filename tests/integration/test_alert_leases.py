"""Outbox leases are timed by Redis (TIME in take_outbox.lua), not by a worker's clock; the
alert scripts check their keys before their first write. Against a real Redis."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from tests.integration.conftest import Services
from tthc_monitor.alerting.sweeper import Sweeper
from tthc_monitor.core.alerts import Alert
from tthc_monitor.store.alert_store import AlertStore
from tthc_monitor.store.redis_store import STORE_REFUSALS

pytestmark = pytest.mark.integration

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2022, 3, 21, 9, 0, tzinfo=TZ)
WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


@pytest.fixture
async def redis(services: Services) -> AsyncIterator[Redis]:
    client = Redis.from_url(services.redis_url, decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture
async def namespace(redis: Redis) -> AsyncIterator[str]:
    ns = f"lease{uuid.uuid4().hex[:8]}"
    yield ns
    keys = [k async for k in redis.scan_iter(f"{ns}:*", count=1000)]
    if keys:
        await redis.delete(*keys)


def item(n: int) -> str:
    """An outbox item: ``{alert id}|{record}`` (core/schedule.py)."""
    fire = int(NOW.timestamp())
    return f"A{n}|overdue|owner|{fire}|{fire}|so-tu-phap|D{n}"


async def redis_now(redis: Redis) -> float:
    reply: Any = await redis.time()
    return float(reply[0]) + float(reply[1]) / 1e6


async def test_a_lease_is_timed_by_redis(redis: Redis, namespace: str) -> None:
    store = AlertStore(redis, namespace, ["kafka"])
    await redis.lpush(f"{namespace}:alerts:outbox:kafka", *[item(n) for n in range(3)])
    before = await redis_now(redis)
    taken = await store.take("kafka", 0.6, 10)
    after = await redis_now(redis)
    assert taken == [item(n) for n in range(3)]  # oldest first
    leases = cast(
        list[tuple[str, float]],
        await redis.zrange(f"{namespace}:alerts:sending:kafka", 0, -1, withscores=True),
    )
    assert sorted(m for m, _ in leases) == sorted(taken)
    # The lease ends 0.6 s after Redis' own clock at the take.
    assert all(before + 0.6 <= end <= after + 0.6 for _, end in leases), (before, leases)

    assert await store.take("kafka", 0.6, 10) == [], "a leased item was taken twice"
    await asyncio.sleep(0.8)
    again = await store.take("kafka", 30, 2)
    assert again == taken[:2], "an ended lease gives the items back, in order"
    assert await store.take("kafka", 30, 10) == taken[2:]
    await store.ack("kafka", taken)
    assert await redis.zcard(f"{namespace}:alerts:sending:kafka") == 0
    assert await redis.llen(f"{namespace}:alerts:outbox:kafka") == 0


class DyingSink:
    """Takes a batch and never acknowledges it: a worker that died mid-delivery."""

    name = "kafka"

    async def deliver(self, alerts: Sequence[Alert]) -> int:
        raise ConnectionError("the worker died")


class RecordingSink:
    name = "kafka"

    def __init__(self) -> None:
        self.got: list[str] = []

    async def deliver(self, alerts: Sequence[Alert]) -> int:
        self.got.extend(a.alert_id for a in alerts)
        return len(alerts)


@pytest.mark.parametrize("skew", [3600.0, -3600.0])
async def test_a_worker_with_a_wrong_clock_keeps_to_the_lease(
    redis: Redis, namespace: str, monkeypatch: pytest.MonkeyPatch, skew: float
) -> None:
    """A worker whose clock runs an hour ahead must not take what another is still
    delivering; one an hour behind must not wait an hour for a dead worker's items."""
    store = AlertStore(redis, namespace, ["kafka"])
    await redis.lpush(f"{namespace}:alerts:outbox:kafka", *[item(n) for n in range(3)])
    dying = Sweeper(store, [DyingSink()], lambda: NOW, lease=1.0)
    assert (await dying.tick()).failed == {"kafka": "ConnectionError"}

    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + skew)
    sink = RecordingSink()
    other = Sweeper(store, [sink], lambda: NOW, lease=1.0)
    assert (await other.tick()).delivered == {"kafka": 0}, "took items still leased"
    started = time.monotonic()
    while not sink.got and time.monotonic() - started < 10:
        await asyncio.sleep(0.1)
        await other.tick()
    waited = time.monotonic() - started
    assert sink.got == [f"A{n}" for n in range(3)]
    assert 0.5 < waited < 3, f"the lease of 1 s ended after {waited:.1f} s"


async def test_claim_checks_every_outbox_before_taking_anything(
    redis: Redis, namespace: str
) -> None:
    """An outbox of the wrong type used to be found after the alert was marked fired and
    queued for the other sinks: it never reached that sink. Now nothing is taken."""
    store = AlertStore(redis, namespace, ["kafka", "webhook"])
    fire = int(NOW.timestamp()) - 60
    await redis.zadd(f"{namespace}:timers", {"A1": fire})
    await redis.hset(f"{namespace}:alert", "A1", item(1).split("|", 1)[1])
    bad = f"{namespace}:alerts:outbox:webhook"
    await redis.set(bad, "drift")
    counted = STORE_REFUSALS.labels("claim_alerts", "WRONGTYPE")._value.get()
    with pytest.raises(ResponseError) as refused:
        await store.claim(NOW, 100)
    message = str(refused.value)
    assert message.startswith(WRONGTYPE)
    assert f"key {bad} is a string, claim_alerts.lua needs a list; nothing written" in message
    assert STORE_REFUSALS.labels("claim_alerts", "WRONGTYPE")._value.get() == counted + 1
    assert await redis.zrange(f"{namespace}:timers", 0, -1) == ["A1"]
    assert await redis.exists(f"{namespace}:fired", f"{namespace}:alerts:outbox:kafka") == 0
    assert await redis.hgetall(f"{namespace}:stats") == {}

    await redis.delete(bad)
    claimed = await store.claim(NOW, 100)
    assert (claimed.taken, claimed.queued) == (1, 1)
    for sink in ("kafka", "webhook"):
        assert await redis.lrange(f"{namespace}:alerts:outbox:{sink}", 0, -1) == [item(1)]
    assert await redis.hgetall(f"{namespace}:stats") == {"alerts_fired:overdue": "1"}


async def test_claim_checks_the_statistics_it_counts(redis: Redis, namespace: str) -> None:
    store = AlertStore(redis, namespace, ["kafka"])
    await redis.zadd(f"{namespace}:timers", {"A1": int(NOW.timestamp()) - 60})
    await redis.hset(f"{namespace}:alert", "A1", item(1).split("|", 1)[1])
    await redis.hset(f"{namespace}:stats", "alerts_fired:overdue", "one")
    with pytest.raises(ResponseError, match="alerts_fired:overdue; nothing written"):
        await store.claim(NOW, 100)
    assert await redis.zcard(f"{namespace}:timers") == 1
    assert await redis.exists(f"{namespace}:alerts:outbox:kafka") == 0


async def test_take_checks_both_keys_before_moving_anything(redis: Redis, namespace: str) -> None:
    store = AlertStore(redis, namespace, ["kafka"])
    outbox, sending = f"{namespace}:alerts:outbox:kafka", f"{namespace}:alerts:sending:kafka"
    await redis.lpush(outbox, item(1), item(2))
    await redis.hset(sending, "drift", "1")
    with pytest.raises(ResponseError) as refused:
        await store.take("kafka", 30, 10)
    message = str(refused.value)
    assert message.startswith(WRONGTYPE)
    assert f"key {sending} is a hash, take_outbox.lua needs a zset" in message
    assert await redis.lrange(outbox, 0, -1) == [item(2), item(1)], "an item moved"
    await redis.delete(sending)
    assert await store.take("kafka", 30, 10) == [item(1), item(2)]
