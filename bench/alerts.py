"""Deadline alert figures: delivery latency through a real worker, and the cost of
sweeping one million open timers (time per sweep tick, Redis memory per timer).

Needs TTHC_KAFKA_BOOTSTRAP and TTHC_REDIS_URL (e.g. from scripts/services.sh up).

    python bench/alerts.py [--dossiers 200] [--timers 1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer
from redis.asyncio import Redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import wait_stable
from tthc_monitor.core.alerts import Alert
from tthc_monitor.core.periods import LOCAL_TZ
from tthc_monitor.core.schedule import epoch
from tthc_monitor.embedded import free_port
from tthc_monitor.kafka_admin import ensure_topics
from tthc_monitor.store.alert_store import AlertStore
from tthc_monitor.store.keys import Keys
from tthc_monitor.store.schedule_codec import encode_plan

ROOT = Path(__file__).resolve().parents[1]


def latency(dossiers: int, services: Mapping[str, str] | None = None) -> list[float]:
    """Seconds from each overdue alert's fire time to its arrival on the alerts topic."""
    tag = uuid.uuid4().hex[:8]
    env = dict(
        services or os.environ,
        PYTHONPATH=str(ROOT),
        TTHC_NAMESPACE=f"benchal{tag}",
        TTHC_TOPIC=f"benchal-{tag}",
        TTHC_DLQ_TOPIC=f"benchal-dlq-{tag}",
        TTHC_ALERTS_TOPIC=f"benchal-alerts-{tag}",
        TTHC_CONSUMER_GROUP=f"benchal-{tag}",
    )
    bootstrap = env["TTHC_KAFKA_BOOTSTRAP"]
    ensure_topics(bootstrap, {env["TTHC_TOPIC"]: 8, env["TTHC_ALERTS_TOPIC"]: 8})
    consumer = KafkaConsumer(
        env["TTHC_ALERTS_TOPIC"], bootstrap_servers=bootstrap, auto_offset_reset="earliest"
    )
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "worker.log"
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tthc_monitor.cli.main",
                "worker",
                "--web-port",
                str(free_port()),
            ],
            env=env,
            cwd=ROOT,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        try:
            # The worker holds its partitions before the first event is published.
            wait_stable(bootstrap, env["TTHC_CONSUMER_GROUP"], 1)
            now = datetime.now(LOCAL_TZ).replace(microsecond=0)
            producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
            for n in range(dossiers):
                due = now + timedelta(seconds=10 + (n % 20))
                event = {
                    "schema_version": 1,
                    "event_id": f"bench-{tag}-{n}",
                    "type": "received",
                    "dossier_id": f"BA{n:06d}",
                    "occurred_at": now.isoformat(),
                    # A unit in force today (the 2022 units ended on 30 June 2025).
                    "unit_id": "xa-19741",
                    "procedure_id": "qt.cap-xa.015",
                    "channel": "direct",
                    "due_at": due.isoformat(),
                }
                producer.send(
                    env["TTHC_TOPIC"],
                    key=f"BA{n:06d}".encode(),
                    value=json.dumps(event).encode(),
                )
            producer.flush()
            delays: list[float] = []
            deadline = time.time() + 120
            while len(delays) < dossiers and time.time() < deadline:
                for records in consumer.poll(timeout_ms=200).values():
                    arrived = time.time()
                    for record in records:
                        alert = json.loads(record.value)
                        if alert["level"] == "overdue":
                            fire = datetime.fromisoformat(alert["fire_at"]).timestamp()
                            delays.append(arrived - fire)
            return delays
        finally:
            worker.terminate()
            worker.wait(30)
            consumer.close()


async def idle_ticks(store: AlertStore, at: datetime, ticks: int = 200) -> list[float]:
    """Seconds per sweep tick (one claim of up to 1,000 alerts) when nothing is due at
    ``at``: the cost every worker pays every ``TTHC_ALERT_SWEEP_SECONDS``."""
    idle: list[float] = []
    for _ in range(ticks):
        started = time.perf_counter()
        await store.claim(at, 1000)
        idle.append(time.perf_counter() - started)
    return idle


async def sweep_cost(url: str, timers: int) -> dict[str, float]:
    redis = Redis.from_url(url, decode_responses=True)
    ns = f"benchsw{uuid.uuid4().hex[:8]}"
    keys = Keys(ns)
    store = AlertStore(redis, ns, ["kafka"])
    base = datetime(2026, 1, 5, 7, 30, tzinfo=LOCAL_TZ)
    try:
        await redis.memory_purge()
        before = int((await redis.info("memory"))["used_memory"])
        chunk = 10_000
        for start in range(0, timers, chunk):
            async with redis.pipeline(transaction=False) as pipe:
                for n in range(start, min(start + chunk, timers)):
                    # Spread over 60 days, like a province's open dossiers.
                    fire = base + timedelta(seconds=n * 60 * 86400 // timers)
                    alert = Alert(
                        uuid.uuid4().hex[:24],
                        "due_soon",
                        f"HS-{n:09d}",
                        "so-tu-phap",
                        "owner",
                        fire,
                        fire + timedelta(days=1),
                    )
                    # One timer per dossier, its plan record holding this one alert
                    # (docs/alerts.md): what the write path stores.
                    pipe.zadd(keys.timers, {alert.dossier_id: epoch(fire)})
                    pipe.hset(keys.alert_records, alert.dossier_id, encode_plan([alert]))
                await pipe.execute()
        after = int((await redis.info("memory"))["used_memory"])
        idle = await idle_ticks(store, base - timedelta(days=1))
        busy: list[float] = []
        now = base
        for _ in range(20):
            now += timedelta(seconds=60 * 86400 * 1000 // timers)  # ~1000 fall due
            started = time.perf_counter()
            claimed = await store.claim(now, 1000)
            busy.append((time.perf_counter() - started) / max(claimed.queued, 1))
        return {
            "timers": timers,
            "redis_bytes_per_timer": (after - before) / timers,
            "idle_tick_ms": statistics.median(idle) * 1000,
            "claim_us_per_alert": statistics.median(busy) * 1e6,
        }
    finally:
        cursor = 0
        while True:
            cursor, found = await redis.scan(cursor, match=f"{ns}:*", count=1000)
            if found:
                await redis.unlink(*found)
            if cursor == 0:
                break
        await redis.aclose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dossiers", type=int, default=200)
    parser.add_argument("--timers", type=int, default=1_000_000)
    args = parser.parse_args()
    if not (os.environ.get("TTHC_KAFKA_BOOTSTRAP") and os.environ.get("TTHC_REDIS_URL")):
        print("set TTHC_KAFKA_BOOTSTRAP and TTHC_REDIS_URL", file=sys.stderr)
        return 2
    delays = latency(args.dossiers)
    if delays:
        delays.sort()
        print(
            f"alert latency over {len(delays)} overdue alerts: "
            f"median {statistics.median(delays):.2f} s, "
            f"p99 {delays[int(0.99 * (len(delays) - 1))]:.2f} s, max {delays[-1]:.2f} s"
        )
    else:
        print("alert latency: no alert arrived")
    cost = asyncio.run(sweep_cost(os.environ["TTHC_REDIS_URL"], args.timers))
    print(
        f"sweep with {cost['timers']:,} open timers: idle tick {cost['idle_tick_ms']:.3f} ms, "
        f"claim {cost['claim_us_per_alert']:.1f} µs per alert fired, "
        f"Redis memory {cost['redis_bytes_per_timer']:.0f} bytes per timer"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
