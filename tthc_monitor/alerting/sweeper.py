"""The sweeper: one tick claims every due timer, then delivers each sink's outbox.

Every worker runs it (a Faust timer); the claim is atomic in Redis, so two workers
never fire one alert twice. Delivery is at-least-once per sink: an item leaves the
outbox only after the sink acknowledged it, and one leased by a worker that died
comes back when the lease ends. Time is injected: ``clock`` decides what is due
(tests move it through a month in seconds); leases are timed by Redis' own clock
(``TIME``, in take_outbox.lua), since they are about live processes whose clocks may
disagree: a worker running ahead must not take what another is still delivering.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from tthc_monitor.core.alerts import Alert
from tthc_monitor.store.alert_store import AlertStore
from tthc_monitor.store.schedule_codec import decode_outbox

log = logging.getLogger("tthc_monitor.alerts")

FIRED_MARGIN = timedelta(days=2)
"""Fired markers are kept this much longer than the horizon (writers' clock skew)."""


class Sink(Protocol):
    name: str

    async def deliver(self, alerts: Sequence[Alert]) -> int:
        """Deliver in order; return how many (a prefix) the destination has for sure."""
        ...


@dataclass
class TickResult:
    claimed: int = 0
    delivered: dict[str, int] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


class Sweeper:
    def __init__(
        self,
        store: AlertStore,
        sinks: Sequence[Sink],
        clock: Callable[[], datetime],
        *,
        batch: int = 1000,
        lease: float = 30.0,
        horizon: timedelta = timedelta(days=31),
        prune_every: float = 600.0,
    ) -> None:
        if [s.name for s in sinks] != list(store.sinks):
            raise ValueError("the store's outboxes must be the sinks, in order")
        self.store = store
        self.sinks = tuple(sinks)
        self.clock = clock
        self.batch = batch
        self.lease = lease
        self.horizon = horizon
        self.prune_every = prune_every
        self._pruned_at = float("-inf")

    async def tick(self) -> TickResult:
        result = TickResult()
        now = self.clock()
        while True:
            claimed = await self.store.claim(now, self.batch)
            result.claimed += claimed.queued
            if claimed.taken < self.batch:
                break
        for sink in self.sinks:
            try:
                result.delivered[sink.name] = await self._deliver(sink)
            except Exception as error:
                # The items stay leased and come back when the lease ends.
                log.warning("alert sink %s failed: %s", sink.name, error)
                result.failed[sink.name] = type(error).__name__
        if time.monotonic() - self._pruned_at > self.prune_every:
            self._pruned_at = time.monotonic()
            await self.store.prune_fired(now - self.horizon - FIRED_MARGIN)
        return result

    async def _deliver(self, sink: Sink) -> int:
        delivered = 0
        while True:
            items = await self.store.take(sink.name, self.lease, self.batch)
            if not items:
                return delivered
            done = await sink.deliver([decode_outbox(item) for item in items])
            await self.store.ack(sink.name, items[:done])
            delivered += done
            if done < len(items):
                return delivered
