"""The Faust agent's side of the pipeline: a thin adapter.

Faust delivers the messages; the pipeline (tthc_monitor/pipeline) applies them; this
module turns one into the other and acks a message only once its batch is recorded.
Faust's own acking happens in a ``finally`` block, so it would also ack an event whose
processing was cancelled by a shutdown or failed, and the next commit would skip it:
the stream runs unacked (``noack``) and ``Ack`` acks after the record.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

from streams import worker_metrics
from tthc_monitor.pipeline import Position, Raw, Step, Work


def raw_of(event: Any) -> Raw:
    """A Faust event as the pipeline's raw message (the event rides along, to be acked)."""
    message = event.message
    return Raw(
        Position(message.topic, message.partition, message.offset),
        event.value,
        message.key,
        message.timestamp or None,
        event,
    )


class Ack(Step[Work]):
    """The end of the worker's chain: metrics of the recorded batch, then the acks.

    ``highwater``: the consumer's high watermark of a partition, for the lag gauge.
    """

    def __init__(self, stream: Any, highwater: Callable[[Any], int | None]) -> None:
        self.stream = stream
        self.highwater = highwater

    async def submit(self, message: Work) -> None:
        observe(message)
        ends: dict[Any, int] = {}
        for item in message.items:
            tp = item.raw.carrier.message.tp
            ends[tp] = max(ends.get(tp, 0), item.offset + 1)
        for tp, end in ends.items():
            highwater = self.highwater(tp)
            if highwater is not None:
                lag = max(0, highwater - end)
                worker_metrics.CONSUMER_LAG.labels(str(tp.partition)).set(lag)
        for item in message.items:
            await self.stream.ack(item.raw.carrier)


def observe(work: Work) -> None:
    """What the batch's write did, and how late its events reached Redis."""
    written = work.written_at or time.time()
    # The labelled children looked up once a batch, not twice an event.
    since_occurred = worker_metrics.LAG.labels("occurred")
    since_arrival = worker_metrics.LAG.labels("arrival")
    for group in work.groups.values():
        for item in group:
            assert item.event is not None
            since_occurred.observe(max(0.0, written - item.event.occurred_at.timestamp()))
            if item.raw.timestamp:
                since_arrival.observe(max(0.0, written - item.raw.timestamp))
    worker_metrics.EVENTS.labels("applied").inc(work.applied)
    worker_metrics.EVENTS.labels("refused").inc(len(work.refused))


async def feed(manual: Any, pipeline: Step[Raw], max_wait: float) -> None:
    """Every message of the unacked stream into the pipeline; a ticker flushes a batch
    that waited ``max_wait`` seconds."""

    async def ticker() -> None:
        while True:
            await asyncio.sleep(max_wait)
            await pipeline.poll()

    tick = asyncio.ensure_future(ticker())
    try:
        async for event in manual.events():
            await pipeline.submit(raw_of(event))
    finally:
        tick.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await tick
