"""Micro-batches over a manually acked Faust stream.

Faust spends most of its per-event time outside the agent body, and Redis rewards
pipelines, so the agent applies events in batches: up to ``max_size`` events, or what
arrived within ``max_wait`` seconds. Events are acked only after their batch is
written; a batch dropped by a shutdown or a crash is never acked, so it is redelivered
and, being idempotent, applied once.

What a batch's messages are (an event, or a dead letter and why) is decided once, before
the first attempt to apply it (``decide``): decoding is pure, and the attempts that
follow a failure (Redis down, say) reuse it. How a redelivered message counts once is
record_progress.lua's part (docs/faults.md, "Dead letters and statistics, once").
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import faust

from schemas.events import DossierEvent
from tthc_monitor.ingest import Rejection

Batch = Sequence[Any]  # faust EventT: .message (topic, partition, offset, key) and .value


@dataclass(frozen=True)
class Decided:
    """One message of a batch and what it is: an event, or a dead letter and why."""

    message: Any
    source: str
    """"{topic}:{partition}", the progress field of the message's partition."""
    offset: int
    event: DossierEvent | None
    rejection: Rejection | None

    @property
    def where(self) -> str:
        """ "{topic}:{partition}:{offset}": the dead letter's ``tthc-source`` header."""
        return f"{self.source}:{self.offset}"


def decide(
    batch: Batch, decode: Callable[[bytes | None], DossierEvent | Rejection]
) -> list[Decided]:
    decided = []
    for event in batch:
        message = event.message
        outcome = decode(event.value)
        source = f"{message.topic}:{message.partition}"
        if isinstance(outcome, Rejection):
            decided.append(Decided(message, source, message.offset, None, outcome))
        else:
            decided.append(Decided(message, source, message.offset, outcome, None))
    return decided


def judge_request(items: Iterable[Decided]) -> dict[str, list[list[Any]]]:
    """record_progress.lua's ``judge``: per partition, ascending, [offset, event id,
    dossier id] of an event and [offset] of any other message."""
    by_source: dict[str, list[list[Any]]] = defaultdict(list)
    for item in sorted(items, key=lambda i: (i.source, i.offset)):
        if item.event is not None:
            by_source[item.source].append([item.offset, item.event.event_id, item.event.dossier_id])
        else:
            by_source[item.source].append([item.offset])
    return dict(by_source)


def next_offsets(items: Iterable[Decided]) -> dict[str, int]:
    """Partition -> the offset after the batch's last message there."""
    offsets: dict[str, int] = {}
    for item in items:
        offsets[item.source] = max(offsets.get(item.source, 0), item.offset + 1)
    return offsets


@dataclass(frozen=True)
class Claim:
    """A dead letter some attempt took to send: record_progress.lua's ``claim|`` value."""

    owner: str
    """The worker process (a random id per process)."""
    at_ms: int
    """Redis time of the claim."""
    mark: int
    """The dead-letter topic's end offset before the send: a check for it starts there."""

    @classmethod
    def parse(cls, value: str) -> Claim:
        owner, at_ms, mark = value.rsplit("|", 2)
        return cls(owner, int(at_ms), int(mark))


async def run_batches(
    stream: faust.StreamT[bytes],
    handle: Callable[[Batch], Awaitable[None]],
    *,
    max_size: int,
    max_wait: float,
) -> None:
    manual = stream.noack()  # type: ignore[attr-defined]
    buffer: list[Any] = []
    lock = asyncio.Lock()

    async def flush() -> None:
        async with lock:
            if not buffer:
                return
            # Take the whole buffer without yielding, so new arrivals start a new batch.
            batch = buffer[:]
            buffer.clear()
            await handle(batch)
            for event in batch:
                await manual.ack(event)

    async def ticker() -> None:
        while True:
            await asyncio.sleep(max_wait)
            await flush()

    tick = asyncio.ensure_future(ticker())
    try:
        async for event in manual.events():
            buffer.append(event)
            if len(buffer) >= max_size:
                await flush()
    finally:
        tick.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await tick
