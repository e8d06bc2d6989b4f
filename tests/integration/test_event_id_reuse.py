"""An event id that another dossier already holds is refused with its reason, not taken for
a duplicate; counted once (``refused`` and ``event_id_conflicts``), redelivery included.

Against a real Redis (the store in process), and through a worker (Kafka, the log line
and the worker's ``refused`` outcome)."""

from __future__ import annotations

import time
import urllib.request
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis

from tests.eventkit import ev, raw
from tests.integration.conftest import Env, Services, produce
from tests.integration.test_pipeline import wait_applied
from tthc_monitor.core.engine import Engine
from tthc_monitor.embedded import free_port
from tthc_monitor.store.redis_store import DossierStore, Incoming

pytestmark = pytest.mark.integration

UNIT = "so-tu-phap"
PROCEDURE = "qt.so-tu-phap.002"


@pytest.fixture
async def store(services: Services, engine: Engine) -> AsyncIterator[DossierStore]:
    redis = Redis.from_url(services.redis_url, decode_responses=True)
    namespace = f"eid{uuid.uuid4().hex[:8]}"
    yield DossierStore(redis, engine, namespace)
    keys = [k async for k in redis.scan_iter(f"{namespace}:*", count=1000)]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()


def received(dossier: str, event_id: str) -> Incoming:
    return Incoming(
        ev(
            "received",
            dossier,
            "2022-03-16 08:00",
            UNIT,
            procedure_id=PROCEDURE,
            channel="online",
            event_id=event_id,
        )
    )


def resolved(dossier: str, event_id: str) -> Incoming:
    return Incoming(ev("resolved", dossier, "2022-03-17 10:00", UNIT, event_id=event_id))


async def stats(store: DossierStore) -> dict[str, int]:
    return await store.read_stats()


async def test_an_event_id_of_another_dossier_is_refused_with_its_reason(
    store: DossierStore,
) -> None:
    first = await store.apply([received("D-TYPO", "same-1")])
    second = await store.apply([received("D-FIXED", "same-1"), received("D-OTHER", "other-1")])
    assert (first.applied, second.applied, second.duplicates) == (1, 1, 0)
    assert second.refused == [("D-FIXED", "same-1", "event_id already used by dossier D-TYPO")]
    counted = await stats(store)
    assert (counted["applied"], counted["refused"], counted["event_id_conflicts"]) == (2, 1, 1)
    counters = await store.read_counters()
    assert counters["2022-04"][f"{UNIT}|received_online"] == 2  # D-TYPO and D-OTHER
    assert (await store.read_global())["dossiers"] == 2
    redis = store.redis
    ns = store.keys.namespace
    assert not await redis.exists(f"{ns}:d:D-FIXED"), "the refused event was stored"
    assert await redis.hget(f"{ns}:eid", "same-1") == "D-TYPO"
    assert await redis.hgetall(f"{ns}:eid:conflicts") == {"same-1|D-FIXED": "D-TYPO"}

    # Redelivered: the refusal was made once; now both events are duplicates.
    again = await store.apply([received("D-FIXED", "same-1"), received("D-OTHER", "other-1")])
    assert (again.applied, again.duplicates, again.refused) == (0, 2, [])
    assert await stats(store) == {**counted, "duplicates": 2}


async def test_the_dossiers_other_events_are_applied_without_the_refused_one(
    store: DossierStore,
) -> None:
    await store.apply([received("A", "a-1"), resolved("A", "closing")])
    # B's own receipt is applied; its 'resolved' reuses A's id: refused, so B stays open.
    result = await store.apply([received("B", "b-1"), resolved("B", "closing")])
    assert result.applied == 1 and result.duplicates == 0
    assert result.refused == [("B", "closing", "event_id already used by dossier A")]
    april = (await store.read_counters())["2022-04"]
    assert april[f"{UNIT}|received_online"] == 2
    assert sum(v for k, v in april.items() if k.startswith(f"{UNIT}|resolved_")) == 1
    assert april[f"{UNIT}|open_delta"] == 1  # B


async def test_within_one_batch_the_first_dossier_keeps_the_id(store: DossierStore) -> None:
    """Neither holds the id yet: the first written (batch order) keeps it, the other is
    refused; a copy of the refused event in the same batch is a duplicate."""
    result = await store.apply(
        [received("FIRST", "twice"), received("SECOND", "twice"), received("SECOND", "twice")]
    )
    assert result.applied == 1 and result.duplicates == 1
    assert result.refused == [("SECOND", "twice", "event_id already used by dossier FIRST")]
    assert (await stats(store))["event_id_conflicts"] == 1


async def test_the_same_dossier_resending_its_event_is_a_duplicate(store: DossierStore) -> None:
    await store.apply([received("D1", "r-1")])
    again = await store.apply([received("D1", "r-1")])
    assert (again.applied, again.duplicates, again.refused) == (0, 1, [])
    assert "event_id_conflicts" not in await stats(store)


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_the_worker_refuses_a_reused_event_id_and_says_why(env: Env, tmp_path: Path) -> None:
    """The worker's policy for refused events: logged with the reason, counted as
    `refused` by the worker and in Redis, never dead-lettered (it is not bad input)."""
    import json

    port = free_port()
    env.extra["TTHC_WORKER_METRICS_PORT"] = str(port)
    env.start_worker(tmp_path)

    def line(body: dict[str, object]) -> bytes:
        return json.dumps(body).encode()

    def receipt(dossier: str, event_id: str) -> bytes:
        return line(
            raw(
                "received",
                dossier,
                "2022-03-16 08:00",
                UNIT,
                procedure_id=PROCEDURE,
                channel="online",
                event_id=event_id,
            )
        )

    # One partition per dossier key: publish the holder first and wait, so the order is sure.
    produce(env, [receipt("W-HOLDER", "w-shared")])
    wait_applied(env)
    produce(env, [receipt("W-REUSER", "w-shared"), receipt("W-OTHER", "w-other")])
    wait_applied(env)
    counted = env.stats()
    assert counted["applied"] == 2
    assert (counted["refused"], counted["event_id_conflicts"]) == (1, 1)
    assert counted.get("dead_letters", 0) == 0
    deadline = time.monotonic() + 10
    wanted = "refused event w-shared of dossier W-REUSER: event_id already used by dossier W-HOLDER"
    while wanted not in env.tail() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert wanted in env.tail()
    samples = scrape(port)
    assert samples[("tthc_worker_events_total", (("outcome", "refused"),))] == 1
    assert samples[("tthc_worker_events_total", (("outcome", "applied"),))] == 2
