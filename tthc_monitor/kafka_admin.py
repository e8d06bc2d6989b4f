"""Small Kafka chores with kafka-python: topics and end offsets (checked: tansu's
ListOffsets answers short of the end, see ``checked_end_offsets``)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from typing import Any, NamedTuple

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import KafkaError, KafkaTimeoutError, TopicAlreadyExistsError


def ensure_topics(
    bootstrap: str,
    topics: dict[str, int],
    timeout: float = 60.0,
    configs: Mapping[str, Mapping[str, str]] | None = None,
    *,
    security: Mapping[str, Any] | None = None,
) -> None:
    """Create the topics that are missing (name -> partitions); wait until usable.

    ``configs`` (name -> topic configs) applies only to topics created here: the events
    topic gets its retention this way (``Settings.topic_configs``); an existing topic
    keeps what the broker has (change it with ``kafka-configs.sh``, docs/operations.md).
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            admin = KafkaAdminClient(
                bootstrap_servers=bootstrap, client_id="tthc-admin", **(security or {})
            )
            break
        except KafkaError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    try:
        existing = set(admin.list_topics())
        missing = [
            NewTopic(
                name,
                num_partitions=parts,
                replication_factor=1,
                topic_configs=dict((configs or {}).get(name, {})),
            )
            for name, parts in topics.items()
            if name not in existing
        ]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(missing)
    finally:
        admin.close()
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, client_id="tthc-admin", **(security or {})
    )
    try:
        for name in topics:
            while not consumer.partitions_for_topic(name):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"topic {name} did not become available")
                time.sleep(0.2)
                consumer.topics()
    finally:
        consumer.close()


def end_offsets(
    bootstrap: str, topic: str, *, security: Mapping[str, Any] | None = None
) -> dict[int, int]:
    """Partition -> the offset the next record will take (see ``checked_end_offsets``)."""
    return {
        p: found.end
        for p, found in checked_end_offsets(bootstrap, topic, security=security).items()
    }


class EndOffset(NamedTuple):
    listed: int
    """What the broker answered to ListOffsets(latest)."""
    end: int
    """The offset the next record will take: ``listed``, or the high watermark of a fetch
    of the last batch when that is higher."""


PROBE_TIMEOUT = 30.0
"""Seconds the fetch that checks the listed end offsets may take."""


def checked_end_offsets(
    bootstrap: str, topic: str, *, security: Mapping[str, Any] | None = None
) -> dict[int, EndOffset]:
    """Partition -> its end offset, asked with ListOffsets(latest) and checked by a fetch.

    ListOffsets alone is not enough on every broker: tansu 0.6 (the zero-install broker of
    ``make up`` and the tests) answers it with the *base* offset of the partition's last
    record batch + 1, short by the other records of that batch, while its fetch responses
    carry the right high watermark (docs/faults.md, "tansu's end offsets"). So each
    partition with records is also fetched from its last listed offset, and the end is the
    higher of the two answers (the fetch comes second, so a record produced in between
    can only make it later, never miss one). Apache Kafka gives both the same answer.
    """
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        client_id="tthc-admin",
        enable_auto_commit=False,
        auto_offset_reset="latest",
        fetch_max_wait_ms=100,
        **(security or {}),
    )
    try:
        tps = _partitions(consumer, topic)
        listed: dict[TopicPartition, int] = consumer.end_offsets(tps)
        fetched = _fetched_ends(consumer, {tp: end for tp, end in listed.items() if end > 0})
        return {
            tp.partition: EndOffset(end, max(end, fetched.get(tp, 0))) for tp, end in listed.items()
        }
    finally:
        consumer.close()


def _fetched_ends(consumer: KafkaConsumer, listed: dict[TopicPartition, int]) -> dict[Any, int]:
    """TopicPartition -> the high watermark of a fetch from its last listed offset (and
    past the last record that fetch returned)."""
    if not listed:
        return {}
    consumer.assign(list(listed))
    for tp, end in listed.items():
        consumer.seek(tp, end - 1)
    ends: dict[Any, int] = {}
    deadline = time.monotonic() + PROBE_TIMEOUT
    while True:
        for tp, records in consumer.poll(timeout_ms=200).items():
            if records:
                ends[tp] = max(ends.get(tp, 0), records[-1].offset + 1)
        waiting = []
        for tp in listed:
            highwater = consumer.highwater(tp)
            if highwater is None:
                waiting.append(tp)
            else:
                ends[tp] = max(ends.get(tp, 0), highwater)
        if not waiting:
            return ends
        if time.monotonic() > deadline:
            raise KafkaTimeoutError(
                f"no fetch answer within {PROBE_TIMEOUT:.0f} s for the end offsets of "
                f"partitions {sorted(tp.partition for tp in waiting)} of {waiting[0].topic}"
            )


def topic_config(
    bootstrap: str, topic: str, *, security: Mapping[str, Any] | None = None
) -> dict[str, str]:
    """The topic's configuration as the broker describes it (retention.ms, ...)."""
    from kafka.admin import ConfigResource, ConfigResourceType

    admin = KafkaAdminClient(
        bootstrap_servers=bootstrap, client_id="tthc-admin", **(security or {})
    )
    try:
        response = admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic)], config_filter="all"
        )
    finally:
        admin.close()
    # kafka-python 3: {"topic": {name: {config: {"value": ..., ...}}}}
    entries = response["topic"][topic]
    return {str(name): str(entry["value"]) for name, entry in entries.items()}


def beginning_offsets(
    bootstrap: str, topic: str, *, security: Mapping[str, Any] | None = None
) -> dict[int, int]:
    """Partition -> the first offset still retained."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, client_id="tthc-admin", **(security or {})
    )
    try:
        found = consumer.beginning_offsets(_partitions(consumer, topic))
        return {tp.partition: offset for tp, offset in found.items()}
    finally:
        consumer.close()


def _partitions(consumer: KafkaConsumer, topic: str) -> list[TopicPartition]:
    partitions = consumer.partitions_for_topic(topic) or set()
    return [TopicPartition(topic, p) for p in sorted(partitions)]
