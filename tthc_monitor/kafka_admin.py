"""Small Kafka chores with kafka-python: topics and end offsets."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from typing import Any, Literal

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError


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
    """Partition -> the offset the next record will take."""
    return _offsets(bootstrap, topic, "end", security)


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
    return _offsets(bootstrap, topic, "beginning", security)


def _offsets(
    bootstrap: str,
    topic: str,
    which: Literal["end", "beginning"],
    security: Mapping[str, Any] | None,
) -> dict[int, int]:
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, client_id="tthc-admin", **(security or {})
    )
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        found = consumer.end_offsets(tps) if which == "end" else consumer.beginning_offsets(tps)
        return {tp.partition: offset for tp, offset in found.items()}
    finally:
        consumer.close()
