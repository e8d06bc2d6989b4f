"""The Faust application: one agent on ``dossier-events``, dead letters aside.

The agent runs with ``concurrency=1``: with more, faust-streaming can commit an
offset past a message still in flight (faust-streaming issue #606). Faust commits
an offset only after the agent has moved past the message, and the agent moves on
only after Redis has the write, so offsets never run ahead of the state.
"""

from __future__ import annotations

import logging
from typing import Any

import faust
from redis.asyncio import Redis

from tthc_monitor.config import Settings
from tthc_monitor.ingest import Rejection, decode
from tthc_monitor.store.redis_store import DossierStore, Incoming

log = logging.getLogger("tthc_monitor.worker")


def create_app(settings: Settings) -> faust.App:
    app = faust.App(
        # The app id is also the Kafka consumer group.
        settings.consumer_group,
        broker=f"kafka://{settings.require_kafka()}",
        store="memory://",
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
    state: dict[str, Any] = {}

    def store() -> DossierStore:
        if "store" not in state:
            redis = Redis.from_url(settings.require_redis(), decode_responses=True)
            state["store"] = DossierStore(redis, engine, settings.namespace)
        result: DossierStore = state["store"]
        return result

    async def dead_letter(message: Any, rejection: Rejection) -> None:
        headers = {
            "tthc-reason": rejection.reason.encode("utf-8"),
            "tthc-field": (rejection.field or "").encode("utf-8"),
            "tthc-source": f"{message.topic}:{message.partition}:{message.offset}".encode(),
        }
        # Wait for the broker's ack: the original offset is committed after this.
        delivered = await dead_letters.send(key=message.key, value=message.value, headers=headers)
        await delivered
        log.warning(
            "dead-lettered %s (partition %s offset %s)",
            rejection.describe(),
            message.partition,
            message.offset,
        )

    @app.agent(source, concurrency=1)
    async def apply_events(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            message = event.message
            source_id = f"{message.topic}:{message.partition}"
            decoded = decode(event.value, engine)
            if isinstance(decoded, Rejection):
                await dead_letter(message, decoded)
                await store().record({source_id: message.offset + 1}, {"dead_letters": 1})
                continue
            result = await store().apply([Incoming(decoded, source_id, message.offset)])
            for dossier_id, event_id, reason in result.refused:
                log.info("refused event %s of dossier %s: %s", event_id, dossier_id, reason)

    return app
