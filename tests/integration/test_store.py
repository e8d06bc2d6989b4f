"""The Redis store against a real Redis: idempotency, conflicts, event-id index."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from tests.eventkit import ev
from tests.integration.conftest import Services
from tthc_monitor.core.engine import Engine
from tthc_monitor.store.redis_store import DossierStore, Incoming

pytestmark = pytest.mark.integration


@pytest.fixture
async def store(services: Services, engine: Engine) -> AsyncIterator[DossierStore]:
    redis = Redis.from_url(services.redis_url, decode_responses=True)
    namespace = f"st{uuid.uuid4().hex[:8]}"
    yield DossierStore(redis, engine, namespace)
    keys = [k async for k in redis.scan_iter(f"{namespace}:*")]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()


def received(dossier: str, event_id: str) -> Incoming:
    return Incoming(
        ev(
            "received",
            dossier,
            "2022-03-16 08:00",
            "so-tu-phap",
            procedure_id="qt.so-tu-phap.002",
            channel="online",
            event_id=event_id,
        )
    )


async def test_event_id_is_unique_across_dossiers(store: DossierStore) -> None:
    first = await store.apply([received("D-TYPO", "same-1")])
    second = await store.apply([received("D-FIXED", "same-1"), received("D-OTHER", "other-1")])
    # The same id under another dossier is refused with its reason, not taken as a duplicate.
    assert (first.applied, second.applied, second.duplicates) == (1, 1, 0)
    assert second.refused == [("D-FIXED", "same-1", "event_id already used by dossier D-TYPO")]
    counters = await store.read_counters()
    assert counters["2022-04"]["so-tu-phap|received_online"] == 2  # D-TYPO and D-OTHER
    assert (await store.read_global())["dossiers"] == 2


async def test_redelivery_changes_nothing(store: DossierStore) -> None:
    batch = [
        received("D1", "r-1"),
        Incoming(ev("resolved", "D1", "2022-03-17 08:00", "so-tu-phap", event_id="x-1")),
    ]
    await store.apply(batch)
    before = await store.read_counters()
    again = await store.apply(list(reversed(batch)) * 3)
    assert again.applied == 0 and again.duplicates == 6
    assert await store.read_counters() == before


async def test_concurrent_writers_on_one_dossier_settle(
    services: Services, store: DossierStore, engine: Engine
) -> None:
    """Two workers during a rebalance: the version check serialises them."""
    other = DossierStore(
        Redis.from_url(services.redis_url, decode_responses=True), engine, store.keys.namespace
    )
    events = [received("C1", "c-0")] + [
        Incoming(
            ev(
                "digitized",
                "C1",
                f"2022-03-16 0{8 + i % 2}:{10 + i}",
                "so-tu-phap",
                target="components",
                complete=bool(i % 2),
                event_id=f"c-{i + 1}",
            )
        )
        for i in range(30)
    ]
    results = await asyncio.gather(*(s.apply([e]) for e in events for s in (store, other)))
    assert sum(r.applied for r in results) == len(events)
    counters = await store.read_counters()
    assert counters["2022-04"]["so-tu-phap|dig_fully"] == 1
    assert counters["2022-04"]["so-tu-phap|received_online"] == 1
    await other.redis.aclose()
