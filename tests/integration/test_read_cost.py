"""Snapshots and scrapes read what they show, not all history (docs/redis-layout.md,
"Running totals"), and give the figures the full read gives.

A store of 24 periods is written straight into Redis as a store written before the
running totals existed (no ``{ns}:totals``, no inter-agency due indexes); the commands
every read sends are logged by a connection class over a real Redis connection.
"""

from __future__ import annotations

import hashlib
import random
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

import pytest
import redis
import redis.asyncio
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration import scenario
from tests.integration.conftest import Env, Services
from tthc_monitor.core.calendar import WorkingCalendar
from tthc_monitor.core.counters import FLOW_METRICS, LEVEL_METRICS
from tthc_monitor.core.periods import LOCAL_TZ, PeriodScheme, shift_period
from tthc_monitor.core.snapshot import build_snapshot
from tthc_monitor.metrics.collector import RedisCollector
from tthc_monitor.metrics.live import READ_HASHES, STATES, LiveReader
from tthc_monitor.reference.index766_files import load_indicators
from tthc_monitor.reference.registry import Registry
from tthc_monitor.store.keys import Keys
from tthc_monitor.store.snapshots import SnapshotStore
from tthc_monitor.store.totals import READY

pytestmark = pytest.mark.integration

LATEST = "2022-04"
PERIODS = [shift_period(LATEST, -k) for k in range(23, -1, -1)]
NOW = datetime(2022, 4, 12, 10, 30, tzinfo=LOCAL_TZ)
AFTER = datetime(2022, 5, 2, 9, 0, tzinfo=LOCAL_TZ)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


READ_HASHES_SHA = hashlib.sha1(READ_HASHES.encode()).hexdigest()


class Log:
    commands: ClassVar[list[tuple[str, ...]]] = []

    @classmethod
    def keys_of(cls, prefix: str) -> set[str]:
        return {arg for command in cls.commands for arg in command[1:] if arg.startswith(prefix)}


class CountingConnection(redis.Connection):
    def send_command(self, *args: Any, **kwargs: Any) -> None:
        Log.commands.append(tuple(_text(a) for a in args))
        super().send_command(*args, **kwargs)

    def pack_commands(self, commands: Iterable[Any]) -> Any:
        listed = list(commands)
        Log.commands.extend(tuple(_text(a) for a in c) for c in listed)
        return super().pack_commands(listed)


class CountingAsyncConnection(redis.asyncio.Connection):
    def pack_command(self, *args: Any) -> Any:
        Log.commands.append(tuple(_text(a) for a in args))
        return super().pack_command(*args)


@pytest.fixture
def namespace(services: Services) -> Iterator[str]:
    ns = f"readcost-{random.randrange(10**9)}"
    yield ns
    client = redis.Redis.from_url(services.redis_url)
    keys = list(client.scan_iter(f"{ns}:*", count=1000))
    for start in range(0, len(keys), 500):
        client.delete(*keys[start : start + 500])


def sync_client(services: Services) -> redis.Redis:
    pool = redis.ConnectionPool.from_url(
        services.redis_url, connection_class=CountingConnection, decode_responses=True
    )
    return redis.Redis(connection_pool=pool)


@pytest.fixture
async def async_client(services: Services) -> AsyncIterator[redis.asyncio.Redis]:
    pool = redis.asyncio.ConnectionPool.from_url(
        services.redis_url, connection_class=CountingAsyncConnection, decode_responses=True
    )
    client = redis.asyncio.Redis(connection_pool=pool)
    yield client
    await client.aclose()


def old_store(client: redis.Redis, ns: str, registry: Registry) -> dict[str, dict[str, int]]:
    """24 periods of counters and some open spans, as a store made before the totals."""
    rng = random.Random(7)
    keys = Keys(ns)
    units = sorted(registry.units)[:40]
    counters: dict[str, dict[str, int]] = {}
    for period in PERIODS:
        values: dict[str, int] = {}
        for unit_id in units:
            for metric in rng.sample(FLOW_METRICS, 8):
                values[f"{unit_id}|{metric}"] = rng.randint(1, 60)
            for metric in LEVEL_METRICS:
                delta = rng.randint(-6, 9)
                if delta:
                    values[f"{unit_id}|{metric}"] = delta
        client.hset(keys.counters(period), mapping=values)
        client.sadd(keys.periods, period)
        counters[period] = values
    base = NOW.timestamp()
    for unit_id in units[:10]:
        members = {}
        for n in range(60):
            stage = "owner" if n % 3 else f"interagency:{units[n % 7]}"
            members[f"d{unit_id}-{n}|{stage}"] = base + rng.uniform(-5, 5) * 86400
        client.zadd(keys.open_index(unit_id), members)
    return counters


def hash_reads(prefix: str) -> set[str]:
    read = {c[1] for c in Log.commands if c[0] in ("HGETALL", "HMGET", "HGET") and c[1:]}
    for c in Log.commands:
        if c[0] == "EVALSHA" and c[1] == READ_HASHES_SHA:  # the exporter's packed HGETALLs
            read.update(c[3 : 3 + int(c[2])])
    return read & Log.keys_of(prefix)


def without_as_of(document: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k != "as_of"}


async def test_snapshot_reads_only_the_periods_it_needs(
    services: Services,
    namespace: str,
    registry: Registry,
    async_client: redis.asyncio.Redis,
) -> None:
    counters = old_store(redis.Redis.from_url(services.redis_url), namespace, registry)
    scheme = PeriodScheme(15)
    store = SnapshotStore(async_client, registry, scheme, namespace, clock=lambda: AFTER)
    prefix = f"{namespace}:p:"
    # The first read computes the totals once (init_totals.lua), then reads.
    for period, months in ((LATEST, 1), (LATEST, 3), ("2021-06", 1), ("2020-05", 2)):
        expected = build_snapshot(period, scheme, registry, counters, AFTER, months)
        Log.commands.clear()
        document = await store.live(period, months)
        assert without_as_of(document) == without_as_of(expected)
        first = shift_period(period, 1 - months)
        wanted = {f"{prefix}{p}" for p in PERIODS if p >= first}
        assert hash_reads(prefix) == wanted, (period, months)
    assert await async_client.hget(f"{namespace}:totals", READY) == "1"

    # A freeze reads (and watches) the covered periods and the totals, no others.
    Log.commands.clear()
    frozen = await store.freeze(LATEST, (1, 3))
    assert hash_reads(prefix) == {f"{prefix}{p}" for p in PERIODS[-3:]}
    watched = {k for c in Log.commands if c[0] == "WATCH" for k in c[1:]}
    assert {f"{namespace}:totals", *(f"{prefix}{p}" for p in PERIODS[-3:])} <= watched
    for months, version in frozen.versions.items():
        document = await store.document(LATEST, months, version)
        assert document is not None
        expected = build_snapshot(LATEST, scheme, registry, counters, AFTER, months)
        assert document["units"] == expected["units"]


def old_open_counts(
    client: redis.Redis, keys: Keys, registry: Registry, reader: LiveReader
) -> dict[tuple[str, str, str], int]:
    """The former read: every member of every due index, classified in Python."""
    bounds = reader.due_bounds(NOW, NOW.date())
    counts: dict[tuple[str, str, str], int] = defaultdict(int)
    for unit_id in registry.units:
        for member, due in client.zrange(keys.open_index(unit_id), 0, -1, withscores=True):
            stage = "owner" if str(member).endswith("|owner") else "interagency"
            state = next(s for s, b in zip(STATES, bounds, strict=True) if due < b)
            counts[(unit_id, stage, state)] += 1
    return dict(counts)


def test_scrape_reads_only_the_current_period(
    services: Services, namespace: str, registry: Registry, calendar: WorkingCalendar
) -> None:
    plain = redis.Redis.from_url(services.redis_url, decode_responses=True)
    counters = old_store(plain, namespace, registry)
    client = sync_client(services)
    scheme = PeriodScheme(15)
    collectors = CollectorRegistry(auto_describe=False)
    collector = RedisCollector(
        client,
        registry,
        scheme,
        load_indicators(),
        namespace,
        None,
        clock=lambda: NOW,
        calendar=calendar,
    )
    collectors.register(collector)
    generate_latest(collectors)  # computes the totals (once)
    Log.commands.clear()
    text = generate_latest(collectors).decode()
    prefix = f"{namespace}:p:"
    # The current period and today's bucket (the wall's "today"), no other.
    assert hash_reads(prefix) == {f"{prefix}{LATEST}", f"{prefix}d{NOW.date().isoformat()}"}
    # No member list of a due index: bounded counts only (ZCOUNT in due_counts.lua).
    sent = {c[0] for c in Log.commands}
    # EVALSHA: the hashes (READ_HASHES) and the due counts; HMGET: the freshness record;
    # INFO: Redis' memory (tthc_redis_memory_*).
    assert sent == {"SMEMBERS", "SCRIPT EXISTS", "MULTI", "HMGET", "EVALSHA", "EXEC", "INFO"}
    (counting,) = [c for c in Log.commands if c[0] == "EVALSHA" and c[1] != READ_HASHES_SHA]
    assert all(k.startswith(f"{namespace}:open:") for k in counting[3 : 3 + int(counting[2])])

    series: dict[str, list[tuple[dict[str, str], float]]] = defaultdict(list)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            series[sample.name].append((sample.labels, sample.value))
    # All-time counters: the sum over all 24 periods.
    received: dict[tuple[str, str], int] = defaultdict(int)
    for values in counters.values():
        for field, value in values.items():
            unit_id, metric = field.split("|", 1)
            if metric in ("received_online", "received_direct"):
                received[(unit_id, metric.removeprefix("received_"))] += value
    got = {(s["unit"], s["channel"]): v for s, v in series["tthc_received_dossiers"]}
    assert got == {**dict.fromkeys(got, 0), **received}  # units without any at 0
    # Period figures (levels from the totals) as the full read gives them.
    snapshot = build_snapshot(LATEST, scheme, registry, counters, NOW)
    rows = {u["unit_id"]: u for u in snapshot["units"]}
    figures = {(s["unit"], s["figure"]): v for s, v in series["tthc_period_figure"]}
    # The snapshot lists the units in force in the period (2025 communes are not).
    for unit_id in rows:
        for name in ("carried_over", "in_progress_overdue", "in_progress_within"):
            children = [c for c in registry.children(unit_id) if c in rows]
            own = rows[unit_id][name] - sum(rows[c][name] for c in children)
            assert figures.get((unit_id, name), 0) == own, (unit_id, name)
    # Due counts by stage, as the full read of the members gives them.
    expected = old_open_counts(plain, Keys(namespace), registry, collector.reader)
    open_now = {
        (s["unit"], "owner" if name == "tthc_open_dossiers" else "interagency", s["state"]): v
        for name in ("tthc_open_dossiers", "tthc_open_stages")
        for s, v in series[name]
    }
    assert {k: v for k, v in open_now.items() if v} == expected  # others exposed at 0
    assert any(stage == "interagency" for _, stage, _ in expected)


def test_writes_keep_the_totals_and_the_interagency_index(env: Env, tmp_path: Path) -> None:
    source = tmp_path / "scenario.jsonl"
    source.write_bytes(b"\n".join(scenario.stream()) + b"\n")
    env.cli("replay", str(source), "--skip-invalid")
    client = env.redis()
    keys = Keys(env.namespace)
    # Nothing has read yet: the totals are the writes' own (the first write of the empty
    # store marked them complete), not init_totals.lua's.
    totals = {k: int(v) for k, v in client.hgetall(keys.totals).items()}
    assert totals.pop(READY) == 1 and totals
    sums: dict[str, int] = defaultdict(int)
    for period in client.smembers(keys.periods):
        for field, value in client.hgetall(keys.counters(period)).items():
            sums[field] += int(value)
    assert totals == {k: v for k, v in sums.items() if v}
    for key in client.scan_iter(f"{env.namespace}:open:*"):
        if key.endswith(":ia"):
            continue
        members = client.zrange(key, 0, -1, withscores=True)
        interagency = client.zrange(f"{key}:ia", 0, -1, withscores=True)
        assert interagency == [(m, d) for m, d in members if not m.endswith("|owner")]
