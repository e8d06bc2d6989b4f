"""Frozen snapshots against real Redis (and a real worker through Kafka): versions,
adjustments, idempotency of the automatic freeze, exactness under concurrent writes."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaProducer
from redis.asyncio import Redis

from tests.eventkit import ev, raw
from tests.integration.conftest import Env, Services
from tthc_monitor.core.engine import Engine
from tthc_monitor.core.periods import LOCAL_TZ
from tthc_monitor.core.snapshot import build_snapshot
from tthc_monitor.kafka_admin import end_offsets
from tthc_monitor.store.redis_store import DossierStore, Incoming
from tthc_monitor.store.snapshots import PeriodOpen, SnapshotStore

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

GRACE = timedelta(days=2)
UNIT = "so-tu-phap"
PROCEDURE = "qt.so-tu-phap.002"


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
    dossiers: DossierStore
    snapshots: SnapshotStore
    clock: FakeClock

    def other_snapshots(self, url: str) -> SnapshotStore:
        """A second client, as a second worker or a CLI would have."""
        s = self.snapshots
        redis = Redis.from_url(url, decode_responses=True)
        return SnapshotStore(redis, s.registry, s.scheme, s.keys.namespace, self.clock)


@pytest.fixture
async def stores(services: Services, engine: Engine) -> AsyncIterator[Stores]:
    redis = Redis.from_url(services.redis_url, decode_responses=True)
    namespace = f"fz{uuid.uuid4().hex[:8]}"
    clock = FakeClock("2022-04-10 09:00")
    yield Stores(
        redis,
        DossierStore(redis, engine, namespace, clock),
        SnapshotStore(redis, engine.registry, engine.periods, namespace, clock),
        clock,
    )
    keys = [k async for k in redis.scan_iter(f"{namespace}:*")]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()


def received(dossier: str, at: str, event_id: str | None = None) -> Incoming:
    fields: dict[str, Any] = {"procedure_id": PROCEDURE, "channel": "online"}
    if event_id:
        fields["event_id"] = event_id
    return Incoming(ev("received", dossier, at, UNIT, **fields))


def figure(document: dict[str, Any], name: str = "received_online") -> int:
    row = next(u for u in document["units"] if u["unit_id"] == UNIT)
    value: int = row[name]
    return value


async def test_freeze_adjust_and_freeze_again(stores: Stores) -> None:
    dossiers, snapshots, clock = stores.dossiers, stores.snapshots, stores.clock
    await dossiers.apply([received("D1", "2022-03-16 08:00", "d1-received")])

    # 2022-04 ends on 2022-04-15 00:00: not before, and not within the grace.
    assert await snapshots.freeze_due(GRACE) == []
    with pytest.raises(PeriodOpen):
        await snapshots.freeze("2022-04")
    clock.set("2022-04-16 23:59")
    assert await snapshots.freeze_due(GRACE) == []

    clock.set("2022-04-17 00:00")
    [frozen] = await snapshots.freeze_due(GRACE)
    assert (frozen.period, frozen.versions, frozen.created) == ("2022-04", {1: 1, 3: 1}, (1, 3))
    assert await snapshots.freeze_due(GRACE) == []  # once per period
    infos = await snapshots.versions("2022-04")
    assert [(i.months, i.version, i.kind, i.adjustments) for i in infos] == [
        (1, 1, "auto", 0),
        (3, 1, "auto", 0),
    ]
    assert infos[0].as_of == "2022-04-17T00:00:00+07:00"

    counters = await dossiers.read_counters()
    v1 = await snapshots.document("2022-04", 1, 1)
    assert v1 is not None and v1.pop("version") == 1
    engine = dossiers.engine
    assert v1 == build_snapshot("2022-04", engine.periods, engine.registry, counters, clock())
    stored_v1 = await stores.redis.get(snapshots.keys.document("2022-04", 1, 1))
    stored_q1 = await stores.redis.get(snapshots.keys.document("2022-04", 3, 1))

    # Late events: D2 received in 2022-04, D1 resolved in 2022-04; D3 is in 2022-05 (open).
    clock.set("2022-04-18 10:00")
    late = [
        received("D2", "2022-04-10 08:00", "d2-received"),
        Incoming(ev("resolved", "D1", "2022-04-12 08:00", UNIT, event_id="d1-resolved")),
    ]
    await dossiers.apply(late)
    clock.set("2022-04-18 11:00")
    again = await dossiers.apply([*late, received("D3", "2022-04-20 08:00", "d3-received")])
    assert (again.applied, again.duplicates) == (1, 2)  # redelivered: nothing changes

    live = (await dossiers.read_counters())["2022-04"]
    assert live[f"{UNIT}|received_online"] == 2  # counted live
    adjustments = await snapshots.adjustments(["2022-04", "2022-05"])
    # Same instant: ordered by event id.
    assert [(a.event_id, a.dossier_id) for a in adjustments] == [
        ("d1-resolved", "D1"),
        ("d2-received", "D2"),
    ]
    d1, d2 = adjustments
    assert d2.applied_at == "2022-04-18T10:00:00+07:00"
    assert d2.changes[f"{UNIT}|received_online"] == 1
    assert d2.changes[f"{UNIT}|open_delta"] == 1
    assert d1.changes[f"{UNIT}|open_delta"] == -1
    assert sum(v for k, v in d1.changes.items() if "|resolved_" in k) == 1
    assert d2.after == {1: 1, 3: 1}

    # A new version includes them; the old ones stay as they were.
    result = await snapshots.freeze("2022-04")
    assert (result.versions, result.created) == ({1: 2}, (1,))
    v2 = await snapshots.document("2022-04", 1, 2)
    assert v2 is not None and v2["version"] == 2
    assert (figure(v1), figure(v2)) == (1, 2)
    assert (figure(v1, "resolved_early") + figure(v1, "resolved_on_time")) == 0
    assert figure(v2, "in_progress_within") + figure(v2, "in_progress_overdue") == 1
    assert await stores.redis.get(snapshots.keys.document("2022-04", 1, 1)) == stored_v1
    assert await stores.redis.get(snapshots.keys.document("2022-04", 3, 1)) == stored_q1
    infos = await snapshots.versions("2022-04", 1)
    assert [(i.version, i.kind, i.adjustments) for i in infos] == [
        (1, "auto", 0),
        (2, "manual", 2),
    ]
    assert await snapshots.freeze_due(GRACE) == []  # a manual version is not the automatic one

    # After version 2, a late event names the versions it is not in.
    await dossiers.apply([received("D4", "2022-04-11 08:00", "d4-received")])
    latest = (await snapshots.adjustments(["2022-04"]))[-1]
    assert (latest.event_id, latest.after) == ("d4-received", {1: 2, 3: 1})


async def test_two_automatic_freezes_make_one_version_two_manual_make_two(
    services: Services, stores: Stores
) -> None:
    await stores.dossiers.apply([received("D1", "2022-03-20 08:00")])
    stores.clock.set("2022-05-01 00:00")
    first, second = stores.snapshots, stores.other_snapshots(services.redis_url)
    try:
        results = await asyncio.gather(
            first.freeze("2022-04", (1, 3), automatic=True),
            second.freeze("2022-04", (1, 3), automatic=True),
            first.freeze_due(GRACE),
            second.freeze_due(GRACE),
        )
        created = [r.created for r in results[:2]] + [f.created for r in results[2:] for f in r]
        assert sorted(created) == [(), (1, 3)]
        versions = await first.versions("2022-04")
        assert [(i.months, i.version) for i in versions] == [(1, 1), (3, 1)]

        manual = await asyncio.gather(first.freeze("2022-04"), second.freeze("2022-04"))
        assert sorted(r.versions[1] for r in manual) == [2, 3]
        versions = await first.versions("2022-04", 1)
        assert [(i.version, i.kind) for i in versions] == [
            (1, "auto"),
            (2, "manual"),
            (3, "manual"),
        ]
    finally:
        await second.redis.aclose()


async def test_versions_and_adjustments_add_up_under_concurrent_writes(
    services: Services, stores: Stores
) -> None:
    """Every late event is either in a version or listed after it, never both or neither."""
    await stores.dossiers.apply([received("B0", "2022-03-20 08:00")])
    stores.clock.set("2022-05-01 00:00")
    await stores.snapshots.freeze("2022-04")
    freezer = stores.other_snapshots(services.redis_url)
    events = 150
    written = [0]

    async def write() -> None:
        for start in range(0, events, 5):
            await stores.dossiers.apply(
                [received(f"L{n}", "2022-04-01 08:00") for n in range(start, start + 5)]
            )
            written[0] += 5
            await asyncio.sleep(0.002)

    async def freeze() -> None:
        # Spread over the writes: one freeze after every 25 events or so.
        for step in range(1, 7):
            while written[0] < step * 25 - 10:
                await asyncio.sleep(0.001)
            await freezer.freeze("2022-04")

    try:
        await asyncio.gather(write(), freeze())
        final = 1 + events
        live = await stores.dossiers.read_counters()
        assert live["2022-04"][f"{UNIT}|received_online"] == final
        adjustments = await stores.snapshots.adjustments(["2022-04"])
        assert len(adjustments) == events  # every write came after version 1
        infos = await stores.snapshots.versions("2022-04", 1)
        assert [i.version for i in infos] == list(range(1, 8))
        assert len({a.after[1] for a in adjustments}) > 2  # the freezes did interleave
        for info in infos:
            document = await stores.snapshots.document("2022-04", 1, info.version)
            assert document is not None
            after = sum(1 for a in adjustments if a.after[1] >= info.version)
            assert figure(document) + after == final, info
            assert info.adjustments == events - after
    finally:
        await freezer.redis.aclose()


def test_cli_freeze_versions_adjustments(env: Env, engine: Engine, tmp_path: Path) -> None:
    async def apply(items: list[Incoming]) -> None:
        redis = Redis.from_url(env.services.redis_url, decode_responses=True)
        try:
            await DossierStore(redis, engine, env.namespace).apply(items)
        finally:
            await redis.aclose()

    asyncio.run(apply([received("C1", "2022-03-20 08:00", "c1-received")]))
    assert env.cli("snapshot", "--period", "2022-04", "--freeze").stdout == "1\n"
    assert env.cli("snapshot", "--period", "2022-04", "--freeze", "--months", "3").stdout == "1\n"
    asyncio.run(apply([received("C2", "2022-04-02 08:00", "c2-received")]))
    assert env.cli("snapshot", "--period", "2022-04", "--freeze").stdout == "2\n"

    listing = env.cli("snapshot", "--period", "2022-04", "--versions").stdout.splitlines()
    assert listing[0].split("\t") == ["months", "version", "as_of", "kind", "adjustments"]
    assert [line.split("\t")[:2] for line in listing[1:]] == [["1", "1"], ["1", "2"], ["3", "1"]]
    assert [line.split("\t")[4] for line in listing[1:]] == ["0", "1", "0"]

    text = env.cli("snapshot", "--period", "2022-04", "--adjustments").stdout.splitlines()
    assert len(text) == 2 and "c2-received\tC2\t1m:v1,3m:v1\t" in text[1]
    assert f"{UNIT}|received_online+1" in text[1]
    out = tmp_path / "adjustments.json"
    env.cli("snapshot", "--period", "2022-04", "--adjustments", "--json", str(out))
    [listed] = json.loads(out.read_text())
    assert listed["event_id"] == "c2-received" and listed["after"] == {"1": 1, "3": 1}

    first, second = tmp_path / "v1-a.json", tmp_path / "v1-b.json"
    env.cli("snapshot", "--period", "2022-04", "--version", "1", "--json", str(first))
    env.cli("snapshot", "--period", "2022-04", "--version", "1", "--json", str(second))
    assert first.read_bytes() == second.read_bytes()  # byte-identical exports
    v1, live = json.loads(first.read_bytes()), tmp_path / "live.json"
    env.cli("snapshot", "--period", "2022-04", "--json", str(live))
    assert "version" not in json.loads(live.read_text())
    assert (figure(v1), figure(json.loads(live.read_text()))) == (1, 2)

    missing = env.cli("snapshot", "--period", "2022-04", "--version", "7", check=False)
    assert missing.returncode == 1 and "no version 7" in missing.stderr
    future = env.cli("snapshot", "--period", "2099-01", "--freeze", check=False)
    assert future.returncode == 1 and "has not ended" in future.stderr


@dataclass
class TimerEnv(Env):
    """The worker checks for periods to freeze every second instead of every minute."""

    def vars(self) -> dict[str, str]:
        env = super().vars()
        env["TTHC_SNAPSHOT_CHECK_SECONDS"] = "1"
        return env


@pytest.fixture
def timer_env(services: Services) -> Any:
    environment = TimerEnv(services)
    try:
        yield environment
    finally:
        environment.stop()


def produce(env: Env, events: list[dict[str, Any]]) -> None:
    producer = KafkaProducer(bootstrap_servers=env.services.kafka, acks="all")
    for event in events:
        producer.send(env.topic, key=event["dossier_id"].encode(), value=json.dumps(event).encode())
    producer.flush()
    producer.close()


def wait_for(env: Env, what: str, predicate: Any, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        env.check_workers()
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}\n{env.tail()}")


def applied(env: Env) -> bool:
    targets = {p: end for p, end in end_offsets(env.services.kafka, env.topic).items() if end}
    progress = env.redis().hgetall(f"{env.namespace}:progress")
    return all(int(progress.get(f"{env.topic}:{p}", 0)) >= end for p, end in targets.items())


def test_worker_freezes_each_period_once_and_lists_late_events(
    timer_env: TimerEnv, engine: Engine, tmp_path: Path
) -> None:
    env = timer_env
    asyncio.run(_preload(env, engine))
    env.start_worker(tmp_path)
    client = env.redis()
    versions_key = f"{env.namespace}:snap:2022-04"
    wait_for(env, "the automatic freeze", lambda: len(client.hgetall(versions_key)) == 4)
    assert client.hgetall(versions_key) == {"1": "1", "3": "1", "auto:1": "1", "auto:3": "1"}

    late = raw(
        "received",
        "K2",
        "2022-04-10 08:00",
        UNIT,
        procedure_id=PROCEDURE,
        channel="online",
        event_id="k2-received",
    )
    produce(env, [late])
    wait_for(env, "the late event", lambda: applied(env))
    produce(env, [late])  # redelivered
    wait_for(env, "the duplicate", lambda: env.stats().get("duplicates", 0) >= 1 and applied(env))
    time.sleep(2.5)  # a few more timer ticks: still one automatic version

    adjustments = client.hgetall(f"{env.namespace}:adj:2022-04")
    assert list(adjustments) == ["k2-received"]
    assert json.loads(adjustments["k2-received"])["dossier_id"] == "K2"
    assert client.hgetall(versions_key) == {"1": "1", "3": "1", "auto:1": "1", "auto:3": "1"}
    listing = env.cli("snapshot", "--period", "2022-04", "--versions").stdout.splitlines()
    assert [line.split("\t")[3] for line in listing[1:]] == ["auto", "auto"]


async def _preload(env: Env, engine: Engine) -> None:
    redis = Redis.from_url(env.services.redis_url, decode_responses=True)
    try:
        await DossierStore(redis, engine, env.namespace).apply(
            [received("K1", "2022-03-20 08:00", "k1-received")]
        )
    finally:
        await redis.aclose()
