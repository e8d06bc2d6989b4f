"""The Redis side of deadline alerts: claiming due timers, the sink outboxes, the index.

Timers (one per dossier, at the next fire time of its plan record) are written with
the dossier (``apply_dossier.lua``); this module fires them:
``claim`` moves due timers into one outbox per sink, atomically and once
(``claim_alerts.lua``); ``take``/``ack`` lease outbox items to a worker and drop them
once the sink has them (``take_outbox.lua``), so a worker that dies mid-delivery
leaves them to be delivered again. Leases are timed by Redis (``TIME`` in the script),
never by a worker's clock. Both scripts check every key before their first write: a key
of the wrong type gives Redis' own error naming it (counted in ``STORE_REFUSALS``) and
nothing is taken. Key names: ``Keys`` (docs/alerts.md, "Keys").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from tthc_monitor.core.schedule import epoch, from_epoch
from tthc_monitor.store.keys import Keys
from tthc_monitor.store.redis_store import refused_by_redis


def _script(name: str) -> str:
    return resources.files("tthc_monitor.store").joinpath("lua", name).read_text("utf-8")


@dataclass(frozen=True)
class Claimed:
    taken: int
    """Timers removed from the queue (an id already fired counts here, not below)."""
    queued: int
    """Alerts queued for the sinks: each fires once."""


@dataclass(frozen=True)
class IndexEntry:
    dossier_id: str
    stage: str
    due_at: datetime


class AlertStore:
    def __init__(self, redis: Redis, namespace: str, sinks: Sequence[str]) -> None:
        self.redis = redis
        self.keys = Keys(namespace)
        self.sinks = tuple(sinks)
        self._claim = redis.register_script(_script("claim_alerts.lua"))
        self._take = redis.register_script(_script("take_outbox.lua"))

    async def claim(self, now: datetime, limit: int) -> Claimed:
        keys = [self.keys.timers, self.keys.alert_records, self.keys.fired, self.keys.stats]
        keys.extend(self.keys.outbox(sink) for sink in self.sinks)
        try:
            taken, queued = await self._claim(keys=keys, args=[epoch(now), limit])
        except ResponseError as error:
            refused_by_redis("claim_alerts", error)
            raise
        return Claimed(int(taken), int(queued))

    async def take(self, sink: str, lease: float, limit: int) -> list[str]:
        """Up to ``limit`` outbox items of ``sink``, leased for ``lease`` seconds of Redis'
        clock (``TIME``): items whose lease ended by that clock are taken again first."""
        try:
            items: list[Any] = await self._take(
                keys=[self.keys.outbox(sink), self.keys.sending(sink)],
                args=[lease, limit],
            )
        except ResponseError as error:
            refused_by_redis("take_outbox", error)
            raise
        return [_text(item) for item in items]

    async def ack(self, sink: str, items: Sequence[str]) -> None:
        if items:
            await self.redis.zrem(self.keys.sending(sink), *items)

    async def prune_fired(self, before: datetime) -> int:
        """Forget fired markers of alerts planned before ``before``: such alerts are past
        the horizon and never scheduled again, so their markers are no longer needed."""
        removed: int = await self.redis.zremrangebyscore(self.keys.fired, "-inf", epoch(before))
        return removed

    async def pending(self) -> dict[str, int]:
        """Timers waiting (one per dossier with alerts to come), and per sink the items
        queued or being delivered."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zcard(self.keys.timers)
            for sink in self.sinks:
                pipe.llen(self.keys.outbox(sink))
                pipe.zcard(self.keys.sending(sink))
            values = await pipe.execute()
        out = {"timers": int(values[0])}
        for n, sink in enumerate(self.sinks):
            out[f"outbox:{sink}"] = int(values[1 + 2 * n]) + int(values[2 + 2 * n])
        return out

    async def due_between(
        self, unit_id: str, start: datetime | None, end: datetime
    ) -> list[IndexEntry]:
        """The spans running at ``unit_id`` whose due is in [start, end)."""
        low: Any = "-inf" if start is None else epoch(start)
        rows: list[Any] = await self.redis.zrangebyscore(
            self.keys.open_index(unit_id), low, f"({epoch(end)}", withscores=True
        )
        entries = []
        for member, due in rows:
            dossier_id, _, stage = _text(member).rpartition("|")
            entries.append(IndexEntry(dossier_id, stage, from_epoch(due)))
        return entries


def _text(value: str | bytes) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value
