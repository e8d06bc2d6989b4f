"""The store's Lua scripts check every key they write before their first write.

Redis does not roll a script back when a command fails midway: a write that stored the
dossier's state and then hit a counter hash of the wrong type would leave the dossier
holding events its counters lack, and a retry would see nothing new. Each case here
plants such a key, checks that the call is refused with Redis' own message naming the
key, that nothing at all was written, and that once the key is fixed the same batch
gives the figures of a clean run.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from redis.asyncio import Redis
from redis.client import NEVER_DECODE
from redis.exceptions import ResponseError

from tests.eventkit import ev
from tests.integration.conftest import Services
from tthc_monitor.core.engine import Engine
from tthc_monitor.store.redis_store import STORE_REFUSALS, DossierStore, Incoming
from tthc_monitor.store.state import decode_state

pytestmark = pytest.mark.integration

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
UNIT = "so-tu-phap"


def clock_at(text: str) -> Callable[[], datetime]:
    moment = datetime.fromisoformat(text).replace(tzinfo=TZ)
    return lambda: moment


# The period 2022-04 (15 March to 14 April) has not ended on 20 March 2022: plain writes
# (apply_dossier.lua). In 2026 it has: adjusting writes (record_adjustments.lua).
CLOCKS = {"plain": "2022-03-20T09:00:00", "adjusting": "2026-01-05T09:00:00"}


@pytest.fixture
async def redis(services: Services) -> AsyncIterator[Redis]:
    client = Redis.from_url(services.redis_url, decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture
def namespace() -> str:
    return f"wc{uuid.uuid4().hex[:8]}"


@pytest.fixture(autouse=True)
async def cleanup(redis: Redis, namespace: str) -> AsyncIterator[None]:
    yield
    for pattern in (f"{namespace}:*", f"clean-{namespace}:*"):
        keys = [k async for k in redis.scan_iter(pattern, count=1000)]
        if keys:
            await redis.delete(*keys)


def received(dossier: str, event_id: str, day: str = "2022-03-16") -> Incoming:
    return Incoming(
        ev(
            "received",
            dossier,
            f"{day} 08:00",
            UNIT,
            procedure_id="qt.so-tu-phap.002",
            channel="online",
            due_at="2022-03-30 17:00",
            event_id=event_id,
        )
    )


def resolved(dossier: str, event_id: str, day: str) -> Incoming:
    return Incoming(ev("resolved", dossier, f"{day} 10:00", UNIT, event_id=event_id))


async def dump(redis: Redis, namespace: str) -> dict[str, Any]:
    """Every key of the namespace with its type and whole value."""
    out: dict[str, Any] = {}
    async for key in redis.scan_iter(f"{namespace}:*", count=1000):
        kind = await redis.type(key)
        if kind == "string":
            value: Any = await redis.execute_command(  # type: ignore[no-untyped-call]
                "GET", key, **{NEVER_DECODE: True}
            )
        elif kind == "hash":
            value = await redis.hgetall(key)
        elif kind == "set":
            value = sorted(await redis.smembers(key))
        elif kind == "zset":
            value = await redis.zrange(key, 0, -1, withscores=True)
        else:
            value = await redis.lrange(key, 0, -1)
        if key == f"{namespace}:freshness":
            # When a write happened, by Redis' clock (store/freshness.py): never equal
            # across two runs; the latest event time beside it is compared.
            value = {k: v for k, v in value.items() if k != "applied_ms"}
        out[key] = (kind, value)
    return out


async def counters_and_contributions(
    redis: Redis, namespace: str
) -> tuple[dict[str, int], dict[str, int]]:
    """Every counter field of the namespace, and the sum of the stored dossiers'
    contributions, both as ``period|unit|metric`` -> n: equal when no dossier holds
    events its counters lack."""
    counters: Counter[str] = Counter()
    async for key in redis.scan_iter(f"{namespace}:p:*", count=1000):
        if await redis.type(key) != "hash":
            continue  # a key planted by the case
        period = str(key).rsplit(":", 1)[1]
        for name, value in (await redis.hgetall(key)).items():
            counters[f"{period}|{name!s}"] += int(value)
    for name, value in (await redis.hgetall(f"{namespace}:g")).items():
        counters[f"all|{name!s}"] += int(value)
    summed: Counter[str] = Counter()
    async for key in redis.scan_iter(f"{namespace}:d:*", count=1000):
        raw = await redis.execute_command(  # type: ignore[no-untyped-call]
            "GET", key, **{NEVER_DECODE: True}
        )
        summed.update(decode_state(raw).contribution)
    return (
        {k: v for k, v in counters.items() if v},
        {k: v for k, v in summed.items() if v},
    )


def refusals(script: str, code: str) -> float:
    return float(STORE_REFUSALS.labels(script, code)._value.get())


async def clean_run(
    redis: Redis, engine: Engine, namespace: str, clock: str, batches: list[list[Incoming]]
) -> dict[str, Any]:
    store = DossierStore(redis, engine, f"clean-{namespace}", clock_at(clock))
    for batch in batches:
        await store.apply(batch)
    state = await dump(redis, f"clean-{namespace}")
    return {k.split(":", 1)[1]: v for k, v in state.items()}


def without_namespace(state: dict[str, Any]) -> dict[str, Any]:
    return {k.split(":", 1)[1]: v for k, v in state.items()}


# Keys one write of `received(...)` touches, planted with a type the script does not
# write there (a string where a hash is written; a hash where a string or zset is).
PLANTED: dict[str, tuple[str, str]] = {
    "p:2022-04": ("string", "hash"),  # the period's counter hash
    "p:d2022-03-16": ("list", "hash"),  # the day bucket of the wall
    "g": ("string", "hash"),  # global counters
    "totals": ("string", "hash"),  # running totals over the periods
    "d:D1": ("hash", "string"),  # the dossier's state (GET of the version)
    "periods": ("string", "set"),
    "eid": ("string", "hash"),
    "stats": ("zset", "hash"),
    "timers": ("hash", "zset"),
    "alert": ("string", "hash"),
    "fired": ("string", "zset"),  # only read by the write: read before any write too
    "eid:conflicts": ("string", "hash"),
    "open:so-tu-phap": ("string", "zset"),  # the unit's due index
}


async def plant(redis: Redis, key: str, kind: str) -> None:
    if kind == "string":
        await redis.set(key, "drift")
    elif kind == "hash":
        await redis.hset(key, "drift", "1")
    elif kind == "list":
        await redis.rpush(key, "drift")
    elif kind == "zset":
        await redis.zadd(key, {"drift": 1})
    else:
        raise AssertionError(kind)


@pytest.mark.parametrize("mode", list(CLOCKS))
@pytest.mark.parametrize("suffix", list(PLANTED))
async def test_a_key_of_the_wrong_type_stops_the_write_before_it_starts(
    redis: Redis, engine: Engine, namespace: str, mode: str, suffix: str
) -> None:
    planted, needed = PLANTED[suffix]
    key = f"{namespace}:{suffix}"
    await plant(redis, key, planted)
    before = await dump(redis, namespace)
    store = DossierStore(redis, engine, namespace, clock_at(CLOCKS[mode]))
    counted = refusals("apply_batch", "WRONGTYPE")
    batch = [received("D1", "e-1")]

    with pytest.raises(ResponseError) as refused:
        await store.apply(batch)

    message = str(refused.value)
    assert message.startswith(WRONGTYPE), message  # Redis' own words, first
    assert f"key {key} is a {planted}" in message and f"needs a {needed}" in message
    assert "nothing written" in message
    assert "EVALSHA" not in message and "e-1" not in message  # never the arguments
    assert await dump(redis, namespace) == before, "the refused call wrote something"
    assert refusals("apply_batch", "WRONGTYPE") == counted + 1

    # Fixed: the same batch gives what a clean run gives, to the last byte.
    await redis.delete(key)
    result = await store.apply(batch)
    assert (result.applied, result.duplicates) == (1, 0)
    clean = await clean_run(redis, engine, namespace, CLOCKS[mode], [batch])
    assert without_namespace(await dump(redis, namespace)) == clean


@pytest.mark.parametrize("mode", list(CLOCKS))
async def test_a_counter_that_is_not_an_integer_stops_the_write(
    redis: Redis, engine: Engine, namespace: str, mode: str
) -> None:
    """HINCRBY fails on such a field: found before the dossier's state is written."""
    store = DossierStore(redis, engine, namespace, clock_at(CLOCKS[mode]))
    await store.apply([received("D1", "e-1")])
    counted = refusals("apply_batch", "ERR")
    key, field = f"{namespace}:p:2022-04", f"{UNIT}|open_delta"
    assert await redis.hget(key, field) == "1"
    await redis.hset(key, field, "1.0")  # what HINCRBYFLOAT would have left
    before = await dump(redis, namespace)
    late = [resolved("D1", "e-2", "2022-03-18")]  # closes the dossier: open_delta -1
    with pytest.raises(ResponseError) as refused:
        await store.apply(late)
    message = str(refused.value)
    # Redis' words (redis-py drops the ERR code of the reply).
    assert message.startswith("hash value is not an integer"), message
    assert f"key {key}, field {field}" in message
    assert await dump(redis, namespace) == before
    assert refusals("apply_batch", "ERR") == counted + 1

    await redis.hset(key, field, "1")
    assert (await store.apply(late)).applied == 1
    counters, contributions = await counters_and_contributions(redis, namespace)
    assert counters == contributions
    assert f"2022-04|{field}" not in counters  # back to 0: the field is dropped


async def test_a_statistic_that_is_not_an_integer_stops_the_write(
    redis: Redis, engine: Engine, namespace: str
) -> None:
    await redis.hset(f"{namespace}:stats", "applied", "many")
    store = DossierStore(redis, engine, namespace, clock_at(CLOCKS["plain"]))
    before = await dump(redis, namespace)
    with pytest.raises(ResponseError, match=f"key {namespace}:stats, field applied"):
        await store.apply([received("D1", "e-1")])
    assert await dump(redis, namespace) == before


@pytest.mark.parametrize("mode", list(CLOCKS))
async def test_a_refused_chunk_leaves_no_dossier_half_written(
    redis: Redis, engine: Engine, namespace: str, mode: str
) -> None:
    """Dossiers of one call: those before the refused write are complete, the refused one
    and those after are untouched, and every dossier's contribution is in the counters.
    Retried once fixed, the batch ends as a clean run."""
    store = DossierStore(redis, engine, namespace, clock_at(CLOCKS[mode]))
    # A bucket only the middle dossier's day writes.
    planted = f"{namespace}:p:d2022-03-17"
    await redis.set(planted, "drift")
    batch = [
        received("A1", "a-1"),
        received("B1", "b-1", day="2022-03-17"),
        received("C1", "c-1", day="2022-03-18"),
    ]
    with pytest.raises(ResponseError, match=f"key {planted} is a string"):
        await store.apply(batch)
    counters, contributions = await counters_and_contributions(redis, namespace)
    assert counters == contributions, "a dossier holds events its counters lack"
    assert not await redis.exists(f"{namespace}:d:B1")

    await redis.delete(planted)
    again = await store.apply(batch)
    assert again.applied + again.duplicates == 3
    clean = await clean_run(redis, engine, namespace, CLOCKS[mode], [batch])
    mine = without_namespace(await dump(redis, namespace))
    # `applied` moves with each write: equal; `duplicates` counts the retry's.
    mine["stats"][1].pop("duplicates", None)
    assert mine == clean


async def test_frozen_period_keys_are_checked_before_the_write(
    redis: Redis, engine: Engine, namespace: str
) -> None:
    """record_adjustments.lua checks the versions and adjustments hashes of the periods a
    late write may adjust before apply_dossier.lua writes anything."""
    store = DossierStore(redis, engine, namespace, clock_at(CLOCKS["adjusting"]))
    key = f"{namespace}:adj:2022-04"
    await redis.set(key, "drift")
    before = await dump(redis, namespace)
    with pytest.raises(ResponseError) as refused:
        await store.apply([received("D1", "e-1")])
    message = str(refused.value)
    assert message.startswith(WRONGTYPE)
    assert f"key {key} is a string, record_adjustments.lua needs a hash" in message
    assert await dump(redis, namespace) == before
