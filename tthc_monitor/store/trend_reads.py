"""The counter hashes a trend needs (core/trends.py), in one read from Redis.

A trend of a flow (received new, resolved, on-time rate) reads the hashes of the periods
it shows and nothing else. A figure that needs the open dossiers (carried over, overdue
at the end) also reads the running totals (``{ns}:totals``) and the hashes of the
periods after the first shown, as a snapshot does (docs/redis-layout.md, "Running
totals"): a trend ending with the current period reads no more than it shows. All in
one MULTI, so the points are one instant's figures. The client blocks: ``serve`` runs
this in a worker thread.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from redis import Redis

from tthc_monitor.metrics.live import READ_HASHES, unpack_hash
from tthc_monitor.store.keys import Keys
from tthc_monitor.store.totals import READY, ensure_totals_sync

MAX_ATTEMPTS = 20
_PERIOD = re.compile(r"^\d{4}-\d{2}$")

Ints = dict[str, int]


@dataclass(frozen=True)
class TrendCounters:
    counters: dict[str, Ints]
    """Counter hashes by period name (the periods shown, and later ones with levels)."""
    totals: Ints | None
    """``unit|metric`` -> sum over every period, when the levels were read."""


def read_trend_counters(
    redis: Redis, keys: Keys, periods: Sequence[str], units: Sequence[str], levels: bool
) -> TrendCounters:
    """The hashes of ``periods`` (oldest first), and with ``levels`` the running totals
    and every later stored period. ``units``: the registry's, should the totals need
    computing once (a store written before they existed)."""
    script = redis.register_script(READ_HASHES)
    first, last = periods[0], periods[-1]

    def wanted(names: Sequence[str]) -> list[str]:
        stored = [n for n in names if _PERIOD.match(n)]
        # A period with no event has no hash: it reads as empty, not as an error.
        if levels:
            return sorted(p for p in stored if p >= first)
        return [p for p in periods if p in stored]

    names = wanted([str(p) for p in redis.smembers(keys.periods)])
    for _ in range(MAX_ATTEMPTS):
        pipe = redis.pipeline(transaction=True)
        pipe.smembers(keys.periods)
        hashes = [keys.counters(name) for name in names]
        if levels:
            hashes.insert(0, keys.totals)
        script(keys=hashes, client=pipe)
        raw_periods, packed = pipe.execute()
        unpacked = [unpack_hash(p) for p in packed]
        totals = unpacked.pop(0) if levels else None
        now_names = wanted([str(p) for p in raw_periods])
        if totals is not None and totals.pop(READY, None) is None:
            ensure_totals_sync(redis, keys, list(units))
        elif now_names == names:
            counters = dict(zip(names, unpacked, strict=True))
            # Periods shown that have no hash yet: empty, so each point exists.
            for period in periods:
                counters.setdefault(period, {})
            return TrendCounters({k: v for k, v in counters.items() if levels or k <= last}, totals)
        names = now_names  # a period appeared meanwhile: read it too
    raise RuntimeError("the periods kept changing during the read")
