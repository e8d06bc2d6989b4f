"""Retention against real Redis: compaction of closed dossiers once their periods are
frozen and the grace passed, what duplicates and late events meet afterwards, and
pruning by age (docs/redis-layout.md, "Retention")."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.client import NEVER_DECODE

from tests.eventkit import ev
from tests.integration.conftest import Services
from tthc_monitor.core.engine import Engine
from tthc_monitor.core.periods import LOCAL_TZ
from tthc_monitor.store.alert_store import AlertStore
from tthc_monitor.store.redis_store import COMPACTED, DossierStore, Incoming
from tthc_monitor.store.retention import Retention, RetentionPolicy, RetentionResult
from tthc_monitor.store.snapshots import SnapshotStore

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

GRACE = timedelta(days=2)
UNIT = "so-tu-phap"
PROCEDURE = "qt.so-tu-phap.002"
POLICY = RetentionPolicy(
    compact_grace=timedelta(days=35),
    tombstone_ttl=timedelta(days=180),
    day_bucket_days=7,
    adjustment_months=13,
)


class FakeClock:
    def __init__(self, text: str) -> None:
        self.set(text)

    def set(self, text: str) -> None:
        self.now = datetime.fromisoformat(text).replace(tzinfo=LOCAL_TZ)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Stores:
    redis: Redis
    namespace: str
    dossiers: DossierStore
    snapshots: SnapshotStore
    retention: Retention
    clock: FakeClock

    async def compact(self) -> RetentionResult:
        result = RetentionResult()
        await self.retention.compact(result)
        return result

    async def freeze(self) -> None:
        await self.snapshots.freeze_due(GRACE)

    async def raw(self, key: str) -> Any:
        key = f"{self.namespace}:{key}"
        return await self.redis.execute_command("GET", key, **{NEVER_DECODE: True})


@pytest.fixture
async def stores(services: Services, engine: Engine) -> AsyncIterator[Stores]:
    redis = Redis.from_url(services.redis_url, decode_responses=True)
    namespace = f"rt{uuid.uuid4().hex[:8]}"
    clock = FakeClock("2022-04-01 09:00")
    yield Stores(
        redis,
        namespace,
        DossierStore(redis, engine, namespace, clock),
        SnapshotStore(redis, engine.registry, engine.periods, namespace, clock),
        Retention(redis, engine.periods, namespace, POLICY, clock),
        clock,
    )
    keys = [k async for k in redis.scan_iter(f"{namespace}:*")]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()


def received(dossier: str, at: str) -> Incoming:
    return Incoming(
        ev(
            "received",
            dossier,
            at,
            UNIT,
            event_id=f"{dossier}-received",
            procedure_id=PROCEDURE,
            channel="online",
        )
    )


def resolved(dossier: str, at: str) -> Incoming:
    return Incoming(ev("resolved", dossier, at, UNIT, event_id=f"{dossier}-resolved"))


async def test_compaction_after_freeze_and_grace_only(stores: Stores) -> None:
    """Closed D1 is compacted once 2022-04 is frozen and 35 days past its end; open D2 never."""
    ns = stores.namespace
    await stores.dossiers.apply(
        [
            received("D1", "2022-04-01 08:00"),
            resolved("D1", "2022-04-05 08:00"),
            received("D2", "2022-04-02 08:00"),
        ]
    )
    # Listed as closed under 2022-04 (ends 2022-04-15), by the write itself.
    assert await stores.redis.zrange(f"{ns}:closed:2022-04", 0, -1) == ["D1"]
    before = await stores.dossiers.read_counters()
    eid_before = await stores.redis.hgetall(f"{ns}:eid")
    assert set(eid_before) == {"D1-received", "D1-resolved", "D2-received"}

    # Ended and frozen, but within the grace: nothing.
    stores.clock.set("2022-04-20 00:00")
    await stores.freeze()
    assert (await stores.compact()).compacted == 0
    # Past the grace but not frozen would also wait: here the freeze exists, so go.
    stores.clock.set("2022-05-20 00:01")
    result = await stores.compact()
    assert (result.compacted, result.periods) == (1, ["2022-04"])

    raw = await stores.raw("d:D1")
    assert raw.startswith(b"2:\x02")  # version 2, a tombstone
    ttl = await stores.redis.ttl(f"{ns}:d:D1")
    assert 179 * 86400 < ttl <= 180 * 86400
    assert await stores.redis.exists(f"{ns}:closed:2022-04") == 0
    assert await stores.redis.hgetall(f"{ns}:eid") == {"D2-received": "D2"}
    assert (await stores.raw("d:D2")).startswith(b"1:\x01")  # open: untouched
    # Counters unchanged by compaction.
    assert await stores.dossiers.read_counters() == before
    assert (await stores.dossiers.read_stats())["compacted"] == 1
    assert (await stores.compact()).compacted == 0  # once


async def test_after_compaction_duplicates_and_late_events(stores: Stores) -> None:
    await stores.dossiers.apply(
        [received("D1", "2022-04-01 08:00"), resolved("D1", "2022-04-05 08:00")]
    )
    stores.clock.set("2022-04-20 00:00")
    await stores.freeze()
    stores.clock.set("2022-05-21 00:00")
    assert (await stores.compact()).compacted == 1
    before = await stores.dossiers.read_counters()
    stats_before = await stores.dossiers.read_stats()

    # A redelivered event of D1: a duplicate, nothing written.
    again = await stores.dossiers.apply([resolved("D1", "2022-04-05 08:00")])
    assert (again.applied, again.duplicates, again.refused) == (0, 1, [])

    # A new event of D1: refused with its reason, counted once.
    late = Incoming(ev("apologized", "D1", "2022-04-06 08:00", UNIT, event_id="D1-late"))
    result = await stores.dossiers.apply([late])
    assert result.refused == [("D1", "D1-late", COMPACTED)]
    stats = await stores.dossiers.read_stats()
    assert stats["refused_compacted"] == 1
    assert stats["refused"] == stats_before.get("refused", 0) + 1
    # Its redelivery is a duplicate, not counted again.
    redelivered = await stores.dossiers.apply([late])
    assert (redelivered.refused, redelivered.duplicates) == ([], 1)
    assert (await stores.dossiers.read_stats())["refused_compacted"] == 1
    assert await stores.dossiers.read_counters() == before
    # The tombstone keeps its TTL.
    assert await stores.redis.ttl(f"{stores.namespace}:d:D1") > 0


async def test_closed_index_follows_the_latest_period(stores: Stores) -> None:
    """A late event that moves a closed dossier's latest period moves its index entry."""
    ns = stores.namespace
    await stores.dossiers.apply([received("D1", "2022-04-01 08:00")])
    assert await stores.redis.exists(f"{ns}:closed:2022-04") == 0  # open: not listed
    await stores.dossiers.apply([resolved("D1", "2022-04-20 08:00")])  # closes in 2022-05
    assert await stores.redis.zrange(f"{ns}:closed:2022-05", 0, -1) == ["D1"]
    # 2022-04 frozen and past the grace, 2022-05 not yet: nothing to compact.
    stores.clock.set("2022-05-25 00:00")
    await stores.freeze()
    assert (await stores.compact()).compacted == 0
    stores.clock.set("2022-06-25 00:00")
    await stores.freeze()
    # Resolved late: its overdue alerts are scheduled and wait for a sweeper.
    result = await stores.compact()
    assert (result.compacted, result.waiting) == (0, 1)
    await AlertStore(stores.redis, ns, ()).claim(stores.clock(), 1000)
    assert (await stores.compact()).compacted == 1


async def test_pruning_by_age(stores: Stores) -> None:
    ns, redis = stores.namespace, stores.redis
    await stores.dossiers.apply([received("D1", "2021-01-01 08:00")])
    stores.clock.set("2021-01-20 00:00")
    await stores.freeze()  # 2021-01 frozen: a late write to it is an adjustment
    await stores.dossiers.apply([received("D2", "2021-01-02 08:00")])
    assert await redis.hlen(f"{ns}:adj:2021-01") == 1
    stores.clock.set("2022-04-10 09:00")
    await stores.dossiers.apply(
        [received("D3", "2022-04-09 08:00"), received("D4", "2022-04-03 08:00")]
    )
    days = sorted([k async for k in redis.scan_iter(f"{ns}:p:d*")])
    assert days == [
        f"{ns}:p:d2021-01-01",
        f"{ns}:p:d2021-01-02",
        f"{ns}:p:d2022-04-03",
        f"{ns}:p:d2022-04-09",
    ]
    result = RetentionResult()
    await stores.retention.prune(result, dry_run=True)
    assert (result.day_buckets, result.adjustments) == (3, 1)
    assert len([k async for k in redis.scan_iter(f"{ns}:p:d*")]) == 4  # dry run

    result = RetentionResult()
    await stores.retention.prune(result)
    assert (result.day_buckets, result.adjustments) == (3, 1)
    assert [k async for k in redis.scan_iter(f"{ns}:p:d*")] == [f"{ns}:p:d2022-04-09"]
    assert await redis.exists(f"{ns}:adj:2021-01") == 0
    # Period counters, the periods set and frozen versions stay.
    assert await redis.sismember(f"{ns}:periods", "2021-01")
    assert await redis.hlen(f"{ns}:p:2021-01") > 0
    assert await redis.exists(f"{ns}:snap:2021-01") == 1


async def test_a_concurrent_write_wins(stores: Stores) -> None:
    """compact_dossier.lua writes only over the version it was given."""
    ns = stores.namespace
    await stores.dossiers.apply(
        [received("D1", "2022-04-01 08:00"), resolved("D1", "2022-04-05 08:00")]
    )
    stale = (await stores.raw("d:D1"))[:2]
    assert stale == b"1:"
    # A late event (refused by the sequence rules: after the close) moves the version.
    late = Incoming(ev("apologized", "D1", "2022-04-06 08:00", UNIT, event_id="D1-late"))
    await stores.dossiers.apply([late])
    keys = [f"{ns}:d:D1", f"{ns}:eid", f"{ns}:closed:2022-04", f"{ns}:stats", f"{ns}:timers"]
    reply = await stores.retention._compact(keys=keys, args=[1, b"\x02", 60, "D1", 0])
    assert reply == -1
    assert (await stores.raw("d:D1")).startswith(b"2:\x01")  # untouched
    stores.clock.set("2022-04-20 00:00")
    await stores.freeze()
    stores.clock.set("2022-05-21 00:00")
    assert (await stores.compact()).compacted == 1  # the next run takes the new version
    stored = await stores.dossiers._read(["D1"])
    assert stored[0].event_ids == {"D1-received", "D1-resolved", "D1-late"}


async def test_conflict_entries_of_compacted_dossiers_are_pruned(stores: Stores) -> None:
    ns, redis = stores.namespace, stores.redis
    await stores.dossiers.apply(
        [received("D1", "2022-04-01 08:00"), resolved("D1", "2022-04-05 08:00")]
    )
    # D2 reuses D1's event id: refused, recorded.
    reuse = Incoming(
        ev(
            "received",
            "D2",
            "2022-04-20 08:00",
            UNIT,
            event_id="D1-received",
            procedure_id=PROCEDURE,
            channel="online",
        )
    )
    result = await stores.dossiers.apply([reuse])
    assert result.refused == [("D2", "D1-received", "event_id already used by dossier D1")]
    assert await redis.hgetall(f"{ns}:eid:conflicts") == {"D1-received|D2": "D1"}
    pruned = RetentionResult()
    await stores.retention.prune(pruned)
    assert pruned.eid_conflicts == 0  # D1 not compacted: the entry guards its id
    stores.clock.set("2022-04-20 00:00")
    await stores.freeze()
    stores.clock.set("2022-05-21 00:00")
    result2 = await stores.retention.run()
    assert (result2.compacted, result2.eid_conflicts) == (1, 1)
    assert await redis.exists(f"{ns}:eid:conflicts") == 0
