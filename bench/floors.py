"""The two baselines of the throughput benchmark, run as their own processes.

    python bench/floors.py faust TOPIC GROUP COUNTER_KEY WEB_PORT
    python bench/floors.py stack TOPIC GROUP COUNTER_KEY

* faust: a bare Faust agent that adds one to a Redis counter per event, batched in one
  pipeline per ``take()`` (the Faust floor: Faust's own per-event cost);
* stack: a bare aiokafka consumer doing the same with ``getmany()`` (the stack floor:
  what Kafka and Redis cost without Faust).

Both read TTHC_KAFKA_BOOTSTRAP and TTHC_REDIS_URL and run until killed.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile

BATCH = 500


def faust_floor(topic: str, group: str, key: str, web_port: int) -> None:
    import faust
    from faust.worker import Worker
    from redis.asyncio import Redis

    app = faust.App(
        group,
        broker=f"kafka://{os.environ['TTHC_KAFKA_BOOTSTRAP']}",
        store="memory://",
        datadir=tempfile.mkdtemp(prefix="faust-floor-"),
        web_enabled=False,
        web_port=web_port,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=10.0,
    )
    source = app.topic(
        topic, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    )
    redis = Redis.from_url(os.environ["TTHC_REDIS_URL"])

    @app.agent(source, concurrency=1)
    async def count(stream: faust.StreamT[bytes]) -> None:
        async for values in stream.take(BATCH, within=0.05):
            async with redis.pipeline(transaction=False) as pipe:
                for _ in values:
                    pipe.incr(key)
                await pipe.execute()

    Worker(app, loglevel="warning", quiet=True).execute_from_commandline()


async def stack_floor(topic: str, group: str, key: str) -> None:
    from aiokafka import AIOKafkaConsumer
    from redis.asyncio import Redis

    redis = Redis.from_url(os.environ["TTHC_REDIS_URL"])
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=os.environ["TTHC_KAFKA_BOOTSTRAP"],
        group_id=group,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        while True:
            batches = await consumer.getmany(timeout_ms=50, max_records=BATCH)
            records = [r for rs in batches.values() for r in rs]
            if not records:
                continue
            async with redis.pipeline(transaction=False) as pipe:
                for _ in records:
                    pipe.incr(key)
                await pipe.execute()
    finally:
        await consumer.stop()


def main() -> int:
    kind, topic, group, key = sys.argv[1:5]
    if kind == "faust":
        sys.argv = [sys.argv[0], "worker"]
        faust_floor(topic, group, key, int(os.environ.get("FLOOR_WEB_PORT", "6099")))
    else:
        asyncio.run(stack_floor(topic, group, key))
    return 0


if __name__ == "__main__":
    sys.exit(main())
