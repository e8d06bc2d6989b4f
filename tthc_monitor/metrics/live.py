"""One read of everything the exporter and the wall page show, from Redis.

Shared by the Prometheus collector and the JSON API so both always agree; nothing is
cached between reads. A read costs what it shows, not all history: the running totals
(``{ns}:totals``: all-time flows, current levels), the hashes of the period shown and of
any after it, and per unit eight ``ZCOUNT`` of the due indexes (in one ``due_counts.lua``
call; docs/redis-layout.md, "Running totals"), all in one MULTI: one instant's figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from importlib import resources
from typing import Any

from redis import Redis

from tthc_monitor.core.calendar import WorkingCalendar
from tthc_monitor.core.counters import DAY_PREFIX
from tthc_monitor.reference.registry import Registry
from tthc_monitor.store.keys import Keys
from tthc_monitor.store.totals import ensure_totals_sync, is_ready, level_totals

MAX_READ_ATTEMPTS = 20

Ints = dict[str, int]
STATES = ("overdue", "due_today", "due_soon", "within")


@dataclass
class LiveState:
    counters: dict[str, Ints]
    """Counter hashes of the period read and of every later one."""
    global_: Ints
    stats: Ints
    progress: Ints
    totals: Ints = field(default_factory=dict)
    """``unit|metric`` -> sum over every period (``{ns}:totals``)."""
    today: dict[str, Ints] = field(default_factory=dict)
    """unit -> {"day_received": n, "day_resolved": n} for the local day of ``now``."""
    open: dict[str, dict[tuple[str, str], int]] = field(default_factory=dict)
    """unit -> {(stage "owner"|"interagency", state): running spans}."""


def _ints(raw: dict[Any, Any]) -> Ints:
    return {str(k): int(v) for k, v in raw.items()}


def _score(value: float) -> str:
    return repr(value) if value != float("inf") else "+inf"


class LiveReader:
    def __init__(
        self, redis: Redis, registry: Registry, calendar: WorkingCalendar, namespace: str
    ) -> None:
        self.redis = redis
        self.registry = registry
        self.calendar = calendar
        self.keys = Keys(namespace)
        self._due_counts = redis.register_script(
            resources.files("tthc_monitor.store")
            .joinpath("lua", "due_counts.lua")
            .read_text("utf-8")
        )

    def read(self, now: datetime, period: str) -> LiveState:
        """Everything shown for ``period`` at ``now``: its counters (and those of later
        periods, for the levels), the running totals, the live due counts."""
        units = list(self.registry.units)
        today = now.astimezone(self.calendar.tz).date()
        bounds = self.due_bounds(now, today)
        # Half-open ranges [low, high) of each state, as ZCOUNT bounds.
        ranges: list[str] = []
        low = "-inf"
        for bound in bounds:
            ranges += [low, f"({_score(bound)}" if bound != float("inf") else "+inf"]
            low = _score(bound)
        indexes = [
            key
            for unit_id in units
            for key in (self.keys.open_index(unit_id), self.keys.open_interagency(unit_id))
        ]
        names = sorted(p for p in map(str, self.redis.smembers(self.keys.periods)) if p >= period)
        for _ in range(MAX_READ_ATTEMPTS):
            pipe = self.redis.pipeline(transaction=True)
            pipe.smembers(self.keys.periods)
            pipe.hgetall(self.keys.totals)
            for name in names:
                pipe.hgetall(self.keys.counters(name))
            pipe.hgetall(self.keys.counters("all"))
            pipe.hgetall(self.keys.stats)
            pipe.hgetall(self.keys.progress)
            pipe.hgetall(self.keys.counters(DAY_PREFIX + today.isoformat()))
            # One command for every ZCOUNT (a command each would cost the client more).
            self._due_counts(keys=indexes, args=ranges, client=pipe)
            raw_periods, raw_totals, *results = pipe.execute()
            now_names = sorted(p for p in map(str, raw_periods) if p >= period)
            if not is_ready(raw_totals):
                ensure_totals_sync(self.redis, self.keys, units)
            elif now_names == names:
                break
            names = now_names  # a period appeared meanwhile: read it too
        else:
            raise RuntimeError("the periods kept changing during the read")
        n = len(names)
        state = LiveState(
            counters={p: _ints(h) for p, h in zip(names, results[:n], strict=True)},
            global_=_ints(results[n]),
            stats=_ints(results[n + 1]),
            progress=_ints(results[n + 2]),
            totals=level_totals(raw_totals),
        )
        for field_, value in _ints(results[n + 3]).items():
            unit_id, metric = field_.split("|", 1)
            state.today.setdefault(unit_id, {})[metric] = value
        width = 2 * len(STATES)
        due_counts = results[n + 4]
        for at, unit_id in enumerate(units):
            counts_of = due_counts[at * width : (at + 1) * width]
            every, interagency = counts_of[: len(STATES)], counts_of[len(STATES) :]
            counts: dict[tuple[str, str], int] = {}
            for name, total, stages in zip(STATES, every, interagency, strict=True):
                if total - stages:
                    counts[("owner", name)] = int(total) - int(stages)
                if stages:
                    counts[("interagency", name)] = int(stages)
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
