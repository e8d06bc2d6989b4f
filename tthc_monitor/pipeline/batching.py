"""Batch: messages in, lists of messages out, by size or by age.

Redis rewards pipelines and a dossier's events within one store call are folded once,
so events travel in batches: up to ``max_size`` messages, or what arrived within
``max_wait`` seconds (checked by ``poll``). ``per_source`` keeps one list per
partition (``rebuild`` accounts for every offset per partition); they flush together.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tthc_monitor.pipeline.message import Decoded
from tthc_monitor.pipeline.step import Forward, Step


class Batch(Forward[Decoded]):
    def __init__(
        self,
        next_step: Step[Any],
        *,
        max_size: int,
        max_wait: float | None = None,
        per_source: bool = False,
    ) -> None:
        super().__init__(next_step)
        self.max_size = max_size
        self.max_wait = max_wait
        self.per_source = per_source
        self.buffer: list[Decoded] = []
        self.started = 0.0
        # A source's loop and a timer may flush at once: one batch at a time, in order.
        self.lock = asyncio.Lock()

    async def submit(self, message: Decoded) -> None:
        if not self.buffer:
            self.started = time.monotonic()
        self.buffer.append(message)
        if len(self.buffer) >= self.max_size:
            await self.flush()

    async def poll(self) -> None:
        due = self.max_wait is not None and time.monotonic() - self.started >= self.max_wait
        if self.buffer and due:
            await self.flush()
        await self.next_step.poll()

    async def join(self, timeout: float | None = None) -> None:
        await self.flush()
        await self.next_step.join(timeout)

    async def flush(self) -> None:
        async with self.lock:
            if not self.buffer:
                return
            # Take the whole buffer without yielding, so new arrivals start a new batch.
            batch, self.buffer = self.buffer, []
            if not self.per_source:
                await self.next_step.submit(batch)
                return
            by_source: dict[str, list[Decoded]] = {}
            for item in batch:
                by_source.setdefault(item.source, []).append(item)
            for source in sorted(by_source):
                await self.next_step.submit(by_source[source])
