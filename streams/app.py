"""The Faust application: one agent on ``dossier-events``, dead letters aside.

Offsets never run ahead of the state:

* the agent runs with ``concurrency=1`` (with more, faust-streaming can commit an
  offset past a message still in flight: faust-streaming issue #606);
* it iterates a ``noack()`` stream and acks each event itself, only after Redis has
  the write or the dead-letter topic has the message. Faust's own acking happens in a
  ``finally`` block, so it would also ack an event whose processing was cancelled by a
  shutdown or failed with an exception, and the next commit would skip it;
* a Redis outage (or any failure that is not the rules' own) is retried with backoff
  for as long as it lasts: the partition stalls (consumer lag shows it) instead of
  losing events. Only an event the pure rules cannot process goes to the dead-letter
  topic, since retrying a deterministic failure cannot help.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, cast

import faust
from redis.asyncio import Redis

from tthc_monitor.config import Settings
from tthc_monitor.ingest import Rejection, decode
from tthc_monitor.store.redis_store import DossierStore, Incoming, ProcessingError

log = logging.getLogger("tthc_monitor.worker")

MAX_BACKOFF = 30.0


def create_app(settings: Settings) -> faust.App:
    settings.faust_data_dir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        # The app id is also the Kafka consumer group.
        settings.consumer_group,
        broker=f"kafka://{settings.require_kafka()}",
        store="memory://",
        datadir=str(settings.faust_data_dir),
        web_enabled=False,
        web_port=settings.web_port,
        web_bind="127.0.0.1",
        topic_partitions=settings.partitions,
        broker_session_timeout=settings.broker_session_timeout,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
    )
    source = app.topic(
        settings.topic,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=settings.partitions,
    )
    dead_letters = app.topic(
        settings.dlq_topic,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=1,
    )
    engine = settings.engine
    state: dict[str, DossierStore] = {}

    def store() -> DossierStore:
        if "store" not in state:
            redis = Redis.from_url(settings.require_redis(), decode_responses=True)
            state["store"] = DossierStore(redis, engine, settings.namespace)
        return state["store"]

    async def dead_letter(message: Any, rejection: Rejection) -> None:
        headers = {
            "tthc-reason": rejection.reason.encode("utf-8"),
            "tthc-field": (rejection.field or "").encode("utf-8"),
            "tthc-source": f"{message.topic}:{message.partition}:{message.offset}".encode(),
        }
        # Wait for the broker's ack: the original offset is acked after this.
        delivered = await dead_letters.send(key=message.key, value=message.value, headers=headers)
        await delivered
        log.warning(
            "dead-lettered %s (partition %s offset %s)",
            rejection.describe(),
            message.partition,
            message.offset,
        )

    async def handle(message: Any, value: bytes) -> None:
        source_id = f"{message.topic}:{message.partition}"
        decoded = decode(value, engine)
        if isinstance(decoded, Rejection):
            await dead_letter(message, decoded)
            await store().record({source_id: message.offset + 1}, {"dead_letters": 1})
            return
        try:
            result = await store().apply([Incoming(decoded, source_id, message.offset)])
        except ProcessingError as error:
            log.exception("the rules failed on event %s", decoded.event_id)
            reason = f"processing error: {error.__cause__.__class__.__name__}"
            await dead_letter(message, Rejection(reason, decoded.event_id, None))
            await store().record({source_id: message.offset + 1}, {"dead_letters": 1})
            return
        for dossier_id, event_id, why in result.refused:
            log.info("refused event %s of dossier %s: %s", event_id, dossier_id, why)

    @app.agent(source, concurrency=1)
    async def apply_events(stream: faust.StreamT[bytes]) -> None:
        manual = cast(faust.Stream[bytes], stream).noack()
        async for event in manual.events():
            delay = 0.5
            while True:
                try:
                    await handle(event.message, event.value)
                    break
                except Exception as error:
                    log.warning(
                        "cannot apply partition %s offset %s yet (%s); retrying in %.1f s",
                        event.message.partition,
                        event.message.offset,
                        type(error).__name__,
                        delay,
                    )
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, MAX_BACKOFF)
            await manual.ack(event)

    return app
