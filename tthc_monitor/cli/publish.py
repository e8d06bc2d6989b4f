"""``tthc-monitor publish``: validate a JSON Lines file, then publish it keyed by dossier.

The file (``-``: standard input) is validated whole before anything is sent: with an
invalid line nothing is published unless ``--skip-invalid``. ``--wait`` then blocks
until the worker's recorded progress reaches the end of every partition.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Mapping

from kafka import KafkaProducer

from tthc_monitor.cli.common import InvalidLines, read_lines, settings_from, source_name
from tthc_monitor.cli.errors import CommandError
from tthc_monitor.cli.progress import progress
from tthc_monitor.config import Settings
from tthc_monitor.connections import kafka_python_config, redis_client
from tthc_monitor.ingest import Rejection, decode
from tthc_monitor.kafka_admin import end_offsets, ensure_topics
from tthc_monitor.pipeline.position import source_key
from tthc_monitor.store.redis_store import DossierStore

POLL_SECONDS = 0.2
SEND_STEP = 1000
"""Messages sent between two updates of the bar (an update per message costs more than
the send)."""


def pending(
    settings: Settings, targets: Mapping[int, int], applied: Mapping[str, int]
) -> dict[int, int]:
    """Partition -> messages the worker has not applied yet (only those behind)."""
    behind = {p: end - applied.get(source_key(settings.topic, p), 0) for p, end in targets.items()}
    return {p: n for p, n in behind.items() if n > 0}


async def wait_applied(settings: Settings, targets: dict[int, int], timeout: float) -> float:
    """Block until the worker's recorded progress reaches every partition's end offset."""
    redis = redis_client(settings)
    store = DossierStore(redis, settings.engine, settings.namespace)
    started = time.monotonic()
    try:
        behind = pending(settings, targets, await store.read_progress())
        first = sum(behind.values())
        with progress("publish --wait", total=first) as bar:
            shown = 0
            while behind:
                if time.monotonic() - started > timeout:
                    raise TimeoutError(
                        f"the worker has not applied everything after {timeout:.0f} s; "
                        f"messages still pending per partition: {behind} (is a worker "
                        "running? `tthc-monitor status` shows its lag)"
                    )
                await asyncio.sleep(POLL_SECONDS)
                behind = pending(settings, targets, await store.read_progress())
                done = first - sum(behind.values())
                bar.update(done - shown)
                shown = done
        return time.monotonic() - started
    finally:
        await redis.aclose()


def validated(
    args: argparse.Namespace, settings: Settings
) -> tuple[list[tuple[bytes, bytes]], int]:
    """The valid lines as (key, value) messages, and how many lines were invalid; raises
    when some were and ``--skip-invalid`` was not given."""
    engine = settings.engine
    good: list[tuple[bytes, bytes]] = []
    invalid = InvalidLines(args.file)
    for number, raw in read_lines(args.file):
        decoded = decode(raw, engine)
        if isinstance(decoded, Rejection):
            invalid.note(number, decoded)
        else:
            good.append((decoded.dossier_id.encode("utf-8"), raw))
    invalid.refuse_unless(args.skip_invalid, valid=len(good), action="published")
    return good, invalid.count


def send(settings: Settings, messages: list[tuple[bytes, bytes]], topic: str) -> float:
    """Publish ``messages`` (key, value) to ``topic``, acknowledged by every replica;
    the seconds it took."""
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
        with progress("publish", total=len(messages)) as bar:
            for start in range(0, len(messages), SEND_STEP):
                chunk = messages[start : start + SEND_STEP]
                for key, value in chunk:
                    producer.send(topic, key=key, value=value)
                bar.update(len(chunk))
            producer.flush()
    finally:
        producer.close()
    return time.monotonic() - started


def run(args: argparse.Namespace) -> int:
    if args.wait and args.timeout <= 0:
        raise CommandError(f"--timeout must be more than 0 seconds, got {args.timeout:g}")
    settings = settings_from(args)
    settings.engine  # noqa: B018 - load the reference data before reading the input
    good, bad = validated(args, settings)
    elapsed = send(settings, good, settings.topic)
    print(
        f"published {len(good)} events from {source_name(args.file)} to {settings.topic} "
        f"in {elapsed:.2f} s" + (f" ({bad} invalid skipped)" if bad else ""),
        file=sys.stderr,
    )
    if args.wait:
        bootstrap = settings.require_kafka()
        security = kafka_python_config(settings)
        ends = end_offsets(bootstrap, settings.topic, security=security)
        targets = {p: end for p, end in ends.items() if end}
        waited = asyncio.run(wait_applied(settings, targets, args.timeout))
        print(f"the worker applied everything in {waited:.2f} s after publishing", file=sys.stderr)
    return 0
