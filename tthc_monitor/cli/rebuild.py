"""``tthc-monitor rebuild``: restore Redis from the events topic, read from offset 0.

Kafka is the record and Redis the state derived from it, so a lost (or rolled back)
Redis is rebuilt by applying the whole topic again with the worker's own store
(``DossierStore.apply``): the same decode, the same rules, the same Lua write.

* The partitions are assigned directly (no consumer group), from their first offset up
  to the end offsets taken when the command starts. Nothing of the worker's group
  changes: its committed offsets stay valid, because the rebuild covers everything
  before its start and the worker everything after its own committed offset, and writes
  are idempotent unions per dossier that commute. So the worker may keep running (it
  fills Redis with new events meanwhile) or be stopped; both end exact.
* Progress is recorded in ``{ns}:progress`` as the worker records it (offsets only move
  forward), so ``publish --wait`` and the worker's alert sweeper see the rebuilt state.
* A partition whose first offset is not 0 has lost events to retention: the figures
  would be wrong, so the command stops before writing unless ``--allow-truncated``.
* Invalid messages were dead-lettered by the worker when they arrived: here they are
  only counted, not sent again.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, TopicPartition

from tthc_monitor.cli.common import settings_from
from tthc_monitor.config import Settings
from tthc_monitor.connections import kafka_python_config, redis_client
from tthc_monitor.ingest import Rejection, decode
from tthc_monitor.kafka_admin import beginning_offsets, end_offsets
from tthc_monitor.store.redis_store import DossierStore, Incoming, ProcessingError, StoreBusy

BATCH = 2000
"""Records per fetch."""
APPLY_BATCH = 20_000
"""Events per store call: a dossier's events within one call are folded once (as in
``replay``), which matters when the topic holds weeks of history."""
TRUNCATED_EXIT = 3


@dataclass
class RebuildResult:
    messages: int = 0
    applied: int = 0
    duplicates: int = 0
    invalid: int = 0
    rule_failures: int = 0
    seconds: float = 0.0
    ends: dict[int, int] = field(default_factory=dict)

    def describe(self) -> str:
        rate = self.messages / self.seconds if self.seconds else 0.0
        return (
            f"rebuilt from {self.messages} messages of {len(self.ends)} partitions in "
            f"{self.seconds:.1f} s ({rate:,.0f} messages/s): {self.applied} applied, "
            f"{self.duplicates} already there, {self.invalid} invalid, "
            f"{self.rule_failures} the rules refused to process"
        )


async def _apply(store: DossierStore, batch: list[Incoming], result: RebuildResult) -> None:
    pending = list(batch)
    while pending:
        try:
            outcome = await store.apply(pending)
        except ProcessingError as error:
            # The worker dead-lettered these when they arrived; leave them out again.
            before = len(pending)
            pending = [i for i in pending if i.event.dossier_id != error.dossier_id]
            result.rule_failures += before - len(pending)
            continue
        except StoreBusy:
            # A running worker is writing the same dossiers: try the batch again.
            await asyncio.sleep(0.1)
            continue
        result.applied += outcome.applied
        result.duplicates += outcome.duplicates
        return


async def rebuild(settings: Settings, bootstrap: str, redis_url: str) -> RebuildResult:
    started = time.perf_counter()
    topic = settings.topic
    security = kafka_python_config(settings)
    ends = {
        p: end for p, end in end_offsets(bootstrap, topic, security=security).items() if end > 0
    }
    result = RebuildResult(ends=ends)
    redis = redis_client(settings, redis_url)
    store = DossierStore(redis, settings.engine, settings.namespace)
    # aiokafka (Faust's client) fetches in the background while a batch is written.
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        client_id="tthc-rebuild",
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=8 * 1024 * 1024,
        fetch_max_bytes=64 * 1024 * 1024,
        # aiokafka takes kafka-python's security keywords (SASL, TLS context).
        **security,
    )
    await consumer.start()
    try:
        remaining = {TopicPartition(topic, p) for p in ends}
        consumer.assign(list(remaining))
        await consumer.seek_to_beginning(*remaining)
        batch: list[Incoming] = []
        while remaining:
            polled = await consumer.getmany(*remaining, timeout_ms=1000, max_records=BATCH)
            for tp, records in polled.items():
                end = ends[tp.partition]
                for record in records:
                    if record.offset >= end:
                        break
                    result.messages += 1
                    decoded = decode(record.value, settings.engine)
                    if isinstance(decoded, Rejection):
                        result.invalid += 1
                        continue
                    batch.append(Incoming(decoded, f"{topic}:{tp.partition}", record.offset))
                if await consumer.position(tp) >= end:
                    remaining.discard(tp)
                    consumer.pause(tp)
            if len(batch) >= APPLY_BATCH or (batch and not remaining):
                await _apply(store, batch, result)
                batch = []
        # The end offsets, including invalid messages at the tail of a partition.
        await store.record(
            {f"{topic}:{p}": end for p, end in ends.items()},
            {"rebuilds": 1, "rebuilt_messages": result.messages},
        )
    finally:
        await consumer.stop()
        await redis.aclose()
    result.seconds = time.perf_counter() - started
    return result


def truncated_partitions(settings: Settings, bootstrap: str) -> dict[int, int]:
    """Partitions whose first offset is past 0 (retention deleted events): p -> first."""
    firsts = beginning_offsets(bootstrap, settings.topic, security=kafka_python_config(settings))
    return {p: first for p, first in firsts.items() if first > 0}


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    settings.engine  # noqa: B018 - load the reference data before starting anything
    bootstrap = settings.require_kafka()
    redis_url = settings.require_redis()
    truncated = truncated_partitions(settings, bootstrap)
    if truncated and not args.allow_truncated:
        print(
            f"tthc-monitor rebuild: {settings.topic} no longer starts at offset 0 "
            f"(partition -> first offset: {truncated}); the events before were deleted by "
            "retention and a rebuild would miss them. Restore Redis from a backup and "
            "rebuild on top of it with --allow-truncated (docs/operations.md).",
            file=sys.stderr,
        )
        return TRUNCATED_EXIT
    result = asyncio.run(rebuild(settings, bootstrap, redis_url))
    print(result.describe(), file=sys.stderr)
    if args.json:
        document = {
            "messages": result.messages,
            "applied": result.applied,
            "duplicates": result.duplicates,
            "invalid": result.invalid,
            "rule_failures": result.rule_failures,
            "seconds": round(result.seconds, 3),
            "end_offsets": {str(p): end for p, end in sorted(result.ends.items())},
        }
        args.json.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return 0
