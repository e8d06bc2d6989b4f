"""The worker's own metrics (pipeline health), on its own port when configured.

Business figures come from ``tthc-monitor serve`` (one exporter, reading Redis); these
describe one worker process: what it applied, how late events reach Redis, and how far
its partitions lag behind the topic.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from tthc_monitor.store.redis_store import STORE_REFUSALS

REGISTRY = CollectorRegistry(auto_describe=True)

EVENTS = Counter(
    "tthc_worker_events",
    "Events this worker processed, by outcome: applied, duplicate, refused, dead_letter.",
    ["outcome"],
    registry=REGISTRY,
)
LAG = Histogram(
    "tthc_worker_event_lag_seconds",
    "Time from a valid message to its batch being written in Redis (redeliveries "
    "included): since=occurred (occurred_at, event time) or since=arrival (the Kafka "
    "message timestamp).",
    ["since"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600, 86400, 30 * 86400),
    registry=REGISTRY,
)
CONSUMER_LAG = Gauge(
    "tthc_worker_consumer_lag_messages",
    "Messages of the partition not yet applied by this worker (high watermark - next offset).",
    ["partition"],
    registry=REGISTRY,
)
BATCHES = Counter("tthc_worker_batches", "Batches this worker applied.", registry=REGISTRY)
# Counted where the store calls Redis (tthc_monitor/store/redis_store.py).
REGISTRY.register(STORE_REFUSALS)


def serve(port: int, host: str = "127.0.0.1") -> None:
    start_http_server(port, addr=host, registry=REGISTRY)
