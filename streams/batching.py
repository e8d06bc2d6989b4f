"""Micro-batches over a manually acked Faust stream.

Faust spends most of its per-event time outside the agent body, and Redis rewards
pipelines, so the agent applies events in batches: up to ``max_size`` events, or what
arrived within ``max_wait`` seconds. Events are acked only after their batch is
written; a batch dropped by a shutdown or a crash is never acked, so it is redelivered
and, being idempotent, applied once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import faust

Batch = Sequence[Any]  # faust EventT: .message (topic, partition, offset, key) and .value


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
