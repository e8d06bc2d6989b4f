"""The Faust translator: Debezium row changes in, contract events out.

A thin adapter around the pure core (``tthc_monitor/cdc/translate.py``): it reads the
Debezium topics of the mapped tables, sends the events to the worker's topic
(``TTHC_TOPIC``, keyed by dossier id) and what cannot be mapped to the dead-letter topic
with the worker's envelope. A message is acked only after every send it caused is acked
by the broker, so a crash redelivers it; the redelivered events carry the same ids and
the store ignores them. It runs in its own consumer group, apart from the worker, so
either can be restarted alone.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import faust

from tthc_monitor.cdc.dead_letter import dead_letter
from tthc_monitor.cdc.mapping import OneStopMapping
from tthc_monitor.cdc.translate import Translation, Unmapped, translate
from tthc_monitor.config import Settings
from tthc_monitor.connections import faust_credentials

log = logging.getLogger("tthc_monitor.cdc")


def decode(value: bytes | None) -> object:
    """The Debezium envelope of a message; None for a tombstone."""
    if value is None:
        return None
    try:
        return json.loads(value)
    except (ValueError, UnicodeDecodeError):
        return "not JSON"


def translate_message(
    value: bytes | None, topic: str, mapping: OneStopMapping
) -> Translation | None:
    """What one Debezium message means; None for a tombstone (nothing to do)."""
    envelope = decode(value)
    if envelope is None:
        return None
    table = mapping.table_of_topic(topic)
    if envelope == "not JSON":
        return Translation(unmapped=[Unmapped("message is not JSON", table)])
    return translate(envelope, table, mapping)


def create_translator(settings: Settings, mapping: OneStopMapping) -> faust.App:
    settings.faust_data_dir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        f"{settings.consumer_group}-cdc",
        broker=f"kafka://{settings.require_kafka()}",
        store="memory://",
        datadir=str(settings.faust_data_dir / "cdc"),
        web_enabled=False,
        topic_partitions=1,
        broker_session_timeout=settings.broker_session_timeout,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        broker_credentials=faust_credentials(settings),
    )

    def raw(*names: str, partitions: int | None = None) -> faust.TopicT:
        return app.topic(
            *names,
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
            partitions=partitions,
        )

    source = raw(*(mapping.topic(name) for name in mapping.tables))
    events_out = raw(settings.topic, partitions=settings.partitions)
    dead_letters = raw(settings.dlq_topic, partitions=1)

    @app.agent(source, concurrency=1)
    async def translate_changes(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            message = event.message
            translation = translate_message(message.value, message.topic, mapping)
            if translation is None:
                continue
            pending: list[Any] = []
            for contract_event in translation.events:
                pending.append(
                    await events_out.send(
                        key=contract_event["dossier_id"].encode(),
                        value=json.dumps(
                            contract_event, ensure_ascii=False, separators=(",", ":")
                        ).encode("utf-8"),
                    )
                )
            for unmapped in translation.unmapped:
                key, value, headers = dead_letter(
                    unmapped,
                    message.value,
                    message.key,
                    (message.topic, message.partition, message.offset),
                    settings.dlq_payload,
                )
                pending.append(await dead_letters.send(key=key, value=value, headers=headers))
                log.warning(
                    "unmapped row change %s:%s:%s: %s",
                    message.topic,
                    message.partition,
                    message.offset,
                    unmapped.describe(),
                )
            # The offset is acked when the loop takes the next message: only after the
            # broker has every event and dead letter of this one.
            for delivered in pending:
                await delivered

    return app
