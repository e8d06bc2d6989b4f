"""Years of operation: Redis memory over 24 months of a province, compaction running.

    python bench/retention.py [--quick]

The April 2022 mix (``simulate quangtri-2022-04``, 67,716 dossiers) is copied once per
month: copy ``m`` has every timestamp shifted by ``m`` calendar months and its dossier and
event ids suffixed ``-m{m}``. Dossiers the simulated month leaves open (in progress at
its end, 17,881) are resolved 30 days after their last event, as the following months
would do, so that the province's open work is stationary rather than growing by a
month's backlog per copy. The copies are merged into one stream in time order and
applied in-process (``DossierStore.apply`` in batches of 500, no Kafka: the store is
what holds memory, and this is faster) to a real Redis, with an injected clock that
follows the stream. Once a day of stream time the production timers run as the
worker runs them: the automatic freeze (``freeze_due``, 2 days' grace), the alert
claim (no sinks) with the pruning of fired markers, and retention (compaction +
pruning, the default policy; the tombstones' TTL, which Redis counts on the wall clock,
is played in stream time by the bench). ``used_memory`` (minus the server's before the run) is
read after the freeze of each month; the key families' bytes are estimated at months 3
and 24 (count × MEMORY USAGE of up to 300 sampled keys per family).

Figure: ``retention: X MiB at month 24, Y MiB at month 3 (R)``; target R ≤ 1.25.
``--quick``: one dossier in ten.
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import json
import random
import sys
import tempfile
import time
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import exit_on_sigterm, new_tag, simulate_month
from schemas.events import EVENT_ADAPTER
from tthc_monitor.config import Settings
from tthc_monitor.core.periods import LOCAL_TZ, shift_period
from tthc_monitor.store.alert_store import AlertStore
from tthc_monitor.store.redis_store import DossierStore, Incoming
from tthc_monitor.store.retention import Retention, RetentionPolicy, RetentionResult
from tthc_monitor.store.snapshots import SnapshotStore

MONTHS = 24
EXTRA_COPIES = 6
"""Copies after month 24 whose early events (received before their month) are in the
stream by then, as a real province's would be."""
FIRST_PERIOD = "2022-04"
BATCH = 500
GRACE = timedelta(days=2)
LATE_CLOSE = timedelta(days=30)
SAMPLE = 300


def shift_months(value: datetime, months: int) -> datetime:
    index = value.year * 12 + value.month - 1 + months
    year, month = divmod(index, 12)
    day = min(value.day, 28 if month + 1 == 2 else 30 if month + 1 in (4, 6, 9, 11) else 31)
    return value.replace(year=year, month=month + 1, day=day)


def base_events(path: Path, keep: float) -> list[dict[str, Any]]:
    """The month's events (one dossier in ``1/keep`` kept), the open ones closed, sorted."""
    by_dossier: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in path.read_bytes().splitlines():
        event = json.loads(line)
        dossier = event["dossier_id"]
        if keep < 1 and (zlib.crc32(dossier.encode()) % 1000) >= keep * 1000:
            continue
        by_dossier[dossier].append(event)
    events: list[dict[str, Any]] = []
    for dossier, items in by_dossier.items():
        events.extend(items)
        if not any(e["type"] in ("resolved", "withdrawn") for e in items):
            received = next((e for e in items if e["type"] == "received"), None)
            if received is None:
                continue
            last = max(datetime.fromisoformat(e["occurred_at"]) for e in items)
            events.append(
                {
                    "schema_version": 1,
                    "event_id": f"{dossier}-close",
                    "type": "resolved",
                    "dossier_id": dossier,
                    "occurred_at": (last + LATE_CLOSE).isoformat(),
                    "unit_id": received["unit_id"],
                }
            )
    events.sort(key=lambda e: e["occurred_at"])
    return events


def copy_stream(base: list[dict[str, Any]], m: int) -> Iterator[tuple[datetime, dict[str, Any]]]:
    for event in base:
        shifted = dict(event)
        for name, value in event.items():
            if name.endswith("_at"):
                shifted[name] = shift_months(datetime.fromisoformat(value), m).isoformat()
        shifted["event_id"] = f"{event['event_id']}-m{m}"
        shifted["dossier_id"] = f"{event['dossier_id']}-m{m}"
        yield datetime.fromisoformat(shifted["occurred_at"]), shifted


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def family(key: str, namespace: str) -> str:
    rest = key[len(namespace) + 1 :]
    head, _, tail = rest.partition(":")
    if head == "p":
        return "p:d{date} (day buckets)" if tail.startswith("d") else "p:{period}"
    if head in ("snap", "adj", "closed", "open", "eid"):
        if head == "eid" and tail:
            return "eid:conflicts"
        return {"snap": "snap:*", "adj": "adj:{period}", "closed": "closed:{period}"}.get(
            head, f"{head}:*" if head == "open" else head
        )
    return head


async def breakdown(redis: Redis, namespace: str) -> dict[str, dict[str, float]]:
    """Per key family: keys, estimated bytes (count × mean MEMORY USAGE of a sample)."""
    keys: dict[str, list[str]] = defaultdict(list)
    async for raw in redis.scan_iter(f"{namespace}:*", count=2000):
        key = raw.decode() if isinstance(raw, bytes) else raw
        name = family(key, namespace)
        keys[name].append(key)
    # Dossier keys: full states and tombstones apart (the format byte after "{version}:").
    dossiers = keys.pop("d", [])
    states: list[str] = []
    tombstones: list[str] = []
    for start in range(0, len(dossiers), 1000):
        chunk = dossiers[start : start + 1000]
        async with redis.pipeline(transaction=False) as pipe:
            for key in chunk:
                pipe.getrange(key, 0, 12)
            heads = await pipe.execute()
        for key, head in zip(chunk, heads, strict=True):
            _, _, rest = bytes(head).partition(b":")
            (tombstones if rest[:1] == b"\x02" else states).append(key)
    keys["d (state)"] = states
    keys["d (tombstone)"] = tombstones
    rng = random.Random(1)
    out: dict[str, dict[str, float]] = {}
    for name, members in sorted(keys.items()):
        if not members:
            continue
        sample = members if len(members) <= SAMPLE else rng.sample(members, SAMPLE)
        async with redis.pipeline(transaction=False) as pipe:
            for key in sample:
                pipe.memory_usage(key, samples=0)
            usages = [u or 0 for u in await pipe.execute()]
        mean = sum(usages) / len(usages)
        out[name] = {"keys": len(members), "bytes": mean * len(members)}
    return out


async def run(url: str, quick: bool) -> dict[str, Any]:
    settings = Settings()
    engine = settings.engine
    scheme = engine.periods
    namespace = f"benchret{new_tag()}"
    with tempfile.TemporaryDirectory() as tmp:
        base = base_events(simulate_month(Path(tmp)), 0.1 if quick else 1.0)
    dossiers_per_month = len({e["dossier_id"] for e in base})
    redis = Redis.from_url(url)
    text = Redis.from_url(url, decode_responses=True)
    start_memory = int((await redis.info("memory"))["used_memory"])
    clock = Clock(datetime(2021, 1, 1, tzinfo=LOCAL_TZ))
    store = DossierStore(redis, engine, namespace, clock)
    snapshots = SnapshotStore(text, engine.registry, scheme, namespace, clock)
    alerts = AlertStore(text, namespace, ())
    policy = RetentionPolicy()
    retention = Retention(text, scheme, namespace, policy, clock)
    copies = MONTHS + EXTRA_COPIES
    stream = heapq.merge(*(copy_stream(base, m) for m in range(copies)), key=lambda p: p[0])
    # Month i (1..24) is measured once period FIRST_PERIOD + i - 1 is frozen.
    checkpoints = [
        scheme.end(shift_period(FIRST_PERIOD, i - 1)) + GRACE + timedelta(days=1)
        for i in range(1, MONTHS + 1)
    ]
    memory: list[int] = []
    families: dict[int, dict[str, dict[str, float]]] = {}
    totals: Counter[str] = Counter()
    next_tick: datetime | None = None
    tombstones: list[tuple[datetime, list[str]]] = []
    started = time.perf_counter()
    events = 0

    async def tick(now: datetime) -> None:
        clock.now = now
        await snapshots.freeze_due(GRACE)
        while (await alerts.claim(now, 10_000)).taken >= 10_000:
            pass
        await alerts.prune_fired(now - settings.alert_horizon - timedelta(days=2))
        done = RetentionResult()
        await retention.compact(done)
        await retention.prune(done)
        # Redis' TTL runs on the wall clock, and the stream's clock runs months a
        # minute: the tombstones' TTL is played in stream time here.
        if done.compacted_ids:
            tombstones.append((now + policy.tombstone_ttl, done.compacted_ids))
        while tombstones and tombstones[0][0] <= now:
            _, expired = tombstones.pop(0)
            for start in range(0, len(expired), 5000):
                chunk = expired[start : start + 5000]
                await redis.unlink(*(f"{namespace}:d:{d}" for d in chunk))
        totals.update(
            compacted=done.compacted,
            raced=done.raced,
            waiting=done.waiting,
            day_buckets=done.day_buckets,
            adjustments=done.adjustments,
        )

    async def measure() -> None:
        used = int((await redis.info("memory"))["used_memory"]) - start_memory
        memory.append(used)
        month = len(memory)
        print(
            f"  month {month:2d} ({shift_period(FIRST_PERIOD, month - 1)}): "
            f"{used / 2**20:8.1f} MiB, {events:,} events, "
            f"{time.perf_counter() - started:.0f} s",
            flush=True,
        )
        if month in (3, MONTHS):
            families[month] = await breakdown(redis, namespace)

    batch: list[Incoming] = []
    try:
        for at, raw in stream:
            if next_tick is None:
                next_tick = at.replace(hour=0, minute=0, second=0, microsecond=0)
            while checkpoints and at >= next_tick:
                if batch:
                    await store.apply(batch)
                    batch = []
                await tick(next_tick)
                if next_tick >= checkpoints[0]:
                    checkpoints.pop(0)
                    await measure()
                next_tick += timedelta(days=1)
            if not checkpoints:
                break
            clock.now = at
            batch.append(Incoming(EVENT_ADAPTER.validate_python(raw)))
            events += 1
            if len(batch) >= BATCH:
                await store.apply(batch)
                batch = []
        stats = {k: int(v) for k, v in (await text.hgetall(f"{namespace}:stats")).items()}
    finally:
        keys = [k async for k in redis.scan_iter(f"{namespace}:*", count=5000)]
        for start in range(0, len(keys), 5000):
            await redis.unlink(*keys[start : start + 5000])
        await redis.aclose()
        await text.aclose()
    return {
        "dossiers_per_month": dossiers_per_month,
        "events": events,
        "seconds": round(time.perf_counter() - started, 1),
        "memory_by_month": memory,
        "families": {str(k): v for k, v in families.items()},
        "retention": dict(totals),
        "stats": stats,
        "policy": {
            "compact_grace_days": policy.compact_grace.days,
            "tombstone_days": policy.tombstone_ttl.days,
            "day_bucket_days": policy.day_bucket_days,
            "adjustment_months": policy.adjustment_months,
        },
    }


def report(result: dict[str, Any]) -> None:
    memory = result["memory_by_month"]
    m3, m24 = memory[2], memory[-1]
    for month in ("3", str(len(memory))):
        print(f"  key families at month {month}:")
        for name, figures in sorted(
            result["families"][month].items(), key=lambda item: -item[1]["bytes"]
        ):
            mib = figures["bytes"] / 2**20
            print(f"    {name:28s} {int(figures['keys']):>9,} keys {mib:9.1f} MiB")
    print(f"  retention job: {result['retention']}; stats: {result['stats']}")
    print(
        f"retention: {m24 / 2**20:.1f} MiB at month {len(memory)}, {m3 / 2**20:.1f} MiB at "
        f"month 3 ({m24 / m3:.2f}; {result['dossiers_per_month']:,} dossiers a month, "
        f"{result['events']:,} events)",
        flush=True,
    )


def retention_figure(url: str, quick: bool) -> dict[str, Any]:
    return asyncio.run(run(url, quick))


def main() -> int:
    exit_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one dossier in ten")
    args = parser.parse_args()
    import os

    result = retention_figure(os.environ["TTHC_REDIS_URL"], args.quick)
    report(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
