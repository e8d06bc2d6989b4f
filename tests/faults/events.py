"""The events of a case: raw JSON lines, stable subsets by dossier, and publishing to Kafka."""

from __future__ import annotations

import hashlib
import json
import sys

from kafka import KafkaProducer
from kafka.producer.future import FutureRecordMetadata

__all__ = ["CLI", "Lines", "bucket", "dossier_of", "produce", "subset"]

Lines = list[bytes]
CLI: tuple[str, ...] = (sys.executable, "-m", "tthc_monitor.cli.main")


def dossier_of(line: bytes) -> str:
    dossier: str = json.loads(line)["dossier_id"]
    return dossier


def bucket(dossier_id: str, buckets: int) -> int:
    """A stable bucket of a dossier (not Python's salted hash)."""
    return int.from_bytes(hashlib.sha256(dossier_id.encode()).digest()[:4], "big") % buckets


def subset(lines: Lines, one_in: int, salt: int = 0) -> Lines:
    """Every event of about one dossier in ``one_in``, in stream order: complete dossiers,
    so the subset is a stream of its own with the month's mix of cases."""
    return [line for line in lines if bucket(dossier_of(line), one_in) == salt % one_in]


def produce(
    kafka: str, topic: str, lines: Lines, keys: list[bytes | None] | None = None
) -> list[tuple[int, int]]:
    """Publish raw lines (keyed by dossier when readable); returns (partition, offset)."""
    producer = KafkaProducer(
        bootstrap_servers=kafka,
        acks="all",
        linger_ms=20,
        batch_size=256 * 1024,
        max_request_size=4 * 1024 * 1024,
    )
    futures: list[FutureRecordMetadata] = []
    for index, line in enumerate(lines):
        key: bytes | None
        if keys is not None:
            key = keys[index]
        else:
            try:
                key = dossier_of(line).encode()
            except (ValueError, KeyError, TypeError):
                key = b"unreadable"
        futures.append(producer.send(topic, key=key, value=line))
    producer.flush()
    placed = [(f.get(60).partition, f.get(60).offset) for f in futures]
    producer.close()
    return placed
