"""One read of everything the exporter and the wall page show, from Redis.

Shared by the Prometheus collector and the JSON API so both always agree; nothing is
cached between reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from redis import Redis

from tthc_monitor.core.calendar import WorkingCalendar
from tthc_monitor.core.counters import DAY_PREFIX
from tthc_monitor.reference.registry import Registry
from tthc_monitor.store.keys import Keys

Ints = dict[str, int]
STATES = ("overdue", "due_today", "due_soon", "within")


@dataclass
class LiveState:
    counters: dict[str, Ints]
    global_: Ints
    stats: Ints
    progress: Ints
    today: dict[str, Ints] = field(default_factory=dict)
    """unit -> {"day_received": n, "day_resolved": n} for the local day of ``now``."""
    open: dict[str, dict[tuple[str, str], int]] = field(default_factory=dict)
    """unit -> {(stage "owner"|"interagency", state): running spans}."""


def _ints(raw: dict[Any, Any]) -> Ints:
    return {str(k): int(v) for k, v in raw.items()}


class LiveReader:
    def __init__(
        self, redis: Redis, registry: Registry, calendar: WorkingCalendar, namespace: str
    ) -> None:
        self.redis = redis
        self.registry = registry
        self.calendar = calendar
        self.keys = Keys(namespace)

    def read(self, now: datetime) -> LiveState:
        periods = sorted(str(p) for p in self.redis.smembers(self.keys.periods))
        units = list(self.registry.units)
        today = now.astimezone(self.calendar.tz).date()
        pipe = self.redis.pipeline(transaction=False)
        for period in periods:
            pipe.hgetall(self.keys.counters(period))
        pipe.hgetall(self.keys.counters("all"))
        pipe.hgetall(self.keys.stats)
        pipe.hgetall(self.keys.progress)
        pipe.hgetall(self.keys.counters(DAY_PREFIX + today.isoformat()))
        for unit_id in units:
            pipe.zrange(self.keys.open_index(unit_id), 0, -1, withscores=True)
        results = pipe.execute()
        n = len(periods)
        state = LiveState(
            counters={p: _ints(h) for p, h in zip(periods, results[:n], strict=True)},
            global_=_ints(results[n]),
            stats=_ints(results[n + 1]),
            progress=_ints(results[n + 2]),
        )
        for field_, value in _ints(results[n + 3]).items():
            unit_id, metric = field_.split("|", 1)
            state.today.setdefault(unit_id, {})[metric] = value
        bounds = self.due_bounds(now, today)
        for unit_id, members in zip(units, results[n + 4 :], strict=True):
            counts: dict[tuple[str, str], int] = {}
            for member, due in members:
                stage = "owner" if str(member).rsplit("|", 1)[-1] == "owner" else "interagency"
                state_name = next(s for s, b in zip(STATES, bounds, strict=True) if due < b)
                counts[(stage, state_name)] = counts.get((stage, state_name), 0) + 1
            if counts:
                state.open[unit_id] = counts
        return state

    def due_bounds(self, now: datetime, today: date) -> tuple[float, float, float, float]:
        """Upper bounds (epoch) of: overdue, due today, due the next working day, within."""
        midnight = datetime.combine(today, datetime.min.time(), tzinfo=self.calendar.tz)
        next_day = self.calendar.add_working_days(today, 1)
        after_next = datetime.combine(next_day, datetime.min.time(), tzinfo=self.calendar.tz)
        return (
            now.timestamp(),
            (midnight + timedelta(days=1)).timestamp(),
            (after_next + timedelta(days=1)).timestamp(),
            float("inf"),
        )
