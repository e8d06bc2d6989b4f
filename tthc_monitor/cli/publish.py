"""``tthc-monitor publish``: validate a JSON Lines file, then publish it keyed by dossier."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from kafka import KafkaProducer

from tthc_monitor.cli.common import read_lines, settings_from
from tthc_monitor.config import Settings
from tthc_monitor.connections import kafka_python_config, redis_client
from tthc_monitor.ingest import Rejection, decode
from tthc_monitor.kafka_admin import end_offsets, ensure_topics
from tthc_monitor.store.redis_store import DossierStore


async def wait_applied(settings: Settings, targets: dict[int, int], timeout: float) -> float:
    """Block until the worker's recorded progress reaches every partition's end offset."""
    redis = redis_client(settings)
    store = DossierStore(redis, settings.engine, settings.namespace)
    started = time.monotonic()
    try:
        while True:
            progress = await store.read_progress()
            behind = {
                p: end - progress.get(f"{settings.topic}:{p}", 0)
                for p, end in targets.items()
                if progress.get(f"{settings.topic}:{p}", 0) < end
            }
            if not behind:
                return time.monotonic() - started
            if time.monotonic() - started > timeout:
                raise TimeoutError(
                    f"the worker has not applied everything after {timeout:.0f} s; "
                    f"messages still pending per partition: {behind}"
                )
            await asyncio.sleep(0.2)
    finally:
        await redis.aclose()


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    settings.engine  # noqa: B018 - load the reference data before starting anything
    engine = settings.engine
    good: list[tuple[bytes, bytes]] = []
    bad = 0
    for number, raw in read_lines(args.file):
        decoded = decode(raw, engine)
        if isinstance(decoded, Rejection):
            bad += 1
            print(f"{args.file}:{number}: {decoded.describe()}", file=sys.stderr)
        else:
            good.append((decoded.dossier_id.encode("utf-8"), raw))
    if bad and not args.skip_invalid:
        print(
            f"{bad} invalid line(s): nothing published (use --skip-invalid to publish "
            f"the {len(good)} valid ones)",
            file=sys.stderr,
        )
        return 2

    bootstrap = settings.require_kafka()
    security = kafka_python_config(settings)
    ensure_topics(
        bootstrap,
        {settings.topic: settings.partitions, settings.dlq_topic: 1},
        configs=settings.topic_configs(),
        security=security,
    )
    started = time.monotonic()
    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        linger_ms=20,
        batch_size=256 * 1024,
        client_id="tthc-publish",
        **security,
    )
    try:
        for key, value in good:
            producer.send(settings.topic, key=key, value=value)
        producer.flush()
    finally:
        producer.close()
    elapsed = time.monotonic() - started
    print(
        f"published {len(good)} events to {settings.topic} in {elapsed:.2f} s"
        + (f" ({bad} invalid skipped)" if bad else ""),
        file=sys.stderr,
    )
    if args.wait:
        ends = end_offsets(bootstrap, settings.topic, security=security)
        targets = {p: end for p, end in ends.items() if end}
        waited = asyncio.run(wait_applied(settings, targets, args.timeout))
        print(f"the worker applied everything in {waited:.2f} s after publishing", file=sys.stderr)
    return 0
