"""The worker's Kafka transport: Faust's aiokafka driver with a fetch wait we choose.

Faust's driver builds its consumer with ``fetch_max_wait_ms=1500`` fixed in code.
aiokafka keeps at most one fetch request in flight per broker, sent for the partitions
that had no records buffered when it left; a partition whose records the worker
consumed meanwhile is fetched again only after that request returns, and the broker may
hold it up to the wait. Measured with ``bench/latency.py`` (2,000 events/s, one broker):
gaps of 1.5 s in which no message reached the worker while its event loop was idle
(no Redis call slow, no loop stall), and publish → applied p50 1.8 s; with 100 ms the
gaps were gone (docs/benchmarks.md, "The consumer's fetch wait"). The wait is
``TTHC_FETCH_MAX_WAIT_MS``; an idle worker then asks the broker for data ten times a
second, which costs the broker next to nothing.
"""

from __future__ import annotations

from typing import Any

import aiokafka
import faust
from faust.transport.drivers import aiokafka as faust_aiokafka

# aiokafka reads the wait from this attribute of the consumer when the consumer starts
# (it builds its fetcher in start()); checked here so an aiokafka that renames it fails
# at the worker's start instead of silently keeping Faust's 1.5 s.
_WAIT_ATTRIBUTE = "_fetch_max_wait_ms"


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        if not hasattr(consumer, _WAIT_ATTRIBUTE):
            raise RuntimeError(
                f"aiokafka {aiokafka.__version__}: its consumer has no "
                f"{_WAIT_ATTRIBUTE}; TTHC_FETCH_MAX_WAIT_MS cannot be applied "
                "(streams/transport.py)"
            )
        setattr(consumer, _WAIT_ATTRIBUTE, transport.fetch_max_wait_ms)
        return consumer


class _Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> Any:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class _Transport(faust_aiokafka.Transport):
    Consumer = _Consumer
    fetch_max_wait_ms = 1500
    """Faust's own value; ``use_fetch_wait`` sets the app's."""


def use_fetch_wait(app: faust.App, fetch_max_wait_ms: int) -> None:
    """Make ``app`` consume with ``fetch_max_wait_ms``; call before the app starts."""
    transport = _Transport(app.conf.broker_consumer, app)
    transport.fetch_max_wait_ms = fetch_max_wait_ms
    app.transport = transport
