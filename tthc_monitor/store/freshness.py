"""How fresh the figures are: the time of the latest event applied, and when it was.

``{ns}:freshness`` is a hash of two fields, epoch milliseconds:

- ``event_ms``: the latest ``occurred_at`` among the events applied so far, capped at
  the time of the write that applied it (a producer's clock set in the future must not
  make stale figures look fresh for hours);
- ``applied_ms``: Redis' time (``TIME``) of the write that last moved ``event_ms``, one
  clock for every worker.

``event_ms`` only moves forward: a late event (older than one already applied) changes
neither field, so the record says how recent the data is, not how busy the pipeline is.
The writer (:func:`record_applied`) is one small Lua call per applied batch; the reader
(:func:`read_freshness`) one ``HMGET``. Nothing personal: two integers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from redis import Redis
from redis.asyncio import Redis as AsyncRedis

from tthc_monitor.core.periods import LOCAL_TZ

FIELDS = ("event_ms", "applied_ms")

# One call, so the two fields always describe the same write; the comparison runs in
# Redis, so two workers applying batches at once keep the later time whatever order
# their calls arrive in. HGET checks the key's type before HSET writes anything.
RECORD_APPLIED = """
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local event = math.min(tonumber(ARGV[1]), now)
local stored = tonumber(redis.call('HGET', KEYS[1], 'event_ms') or '0') or 0
if event > stored then
  redis.call('HSET', KEYS[1], 'event_ms', string.format('%d', event),
             'applied_ms', string.format('%d', now))
  return 1
end
return 0
"""


def freshness_key(namespace: str) -> str:
    return f"{namespace}:freshness"


@dataclass(frozen=True)
class Freshness:
    event_at: datetime | None
    """The latest event time applied (local time), None before the first write."""
    applied_at: datetime | None
    """When that event's write was made (Redis' clock, local time)."""


def _instant(value: Any) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(int(value) / 1000, LOCAL_TZ)
    except ValueError:
        return None  # not ours to repair: the figures are then of unknown age


def read_freshness(redis: Redis, namespace: str) -> Freshness:
    event, applied = redis.hmget(freshness_key(namespace), list(FIELDS))
    return Freshness(_instant(event), _instant(applied))


async def record_applied(redis: AsyncRedis, namespace: str, latest: datetime) -> bool:
    """Record that events up to ``latest`` (their greatest ``occurred_at``) are applied.

    True when the record moved. Call it after the batch's writes, with the events the
    batch applied (not its duplicates or refusals, which add nothing to the figures).
    """
    moved = await redis.eval(
        RECORD_APPLIED,
        1,
        freshness_key(namespace),
        str(int(latest.timestamp() * 1000)),
    )
    return bool(moved)
