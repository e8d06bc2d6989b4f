"""One read of everything the exporter and the wall page show, from Redis.

Shared by the Prometheus collector and the JSON API so both always agree; nothing is
cached between reads. A read costs what it shows, not all history: the running totals
(``{ns}:totals``: all-time flows, current levels), the hashes of the period shown and of
any after it, the day's hash, the freshness record, and per unit eight ``ZCOUNT`` of the
due indexes (in one ``due_counts.lua`` call; docs/redis-layout.md, "Running totals"), all
in one MULTI: one instant's figures. Nothing read grows with history or with the number
of open dossiers, except the set of period names (one short string a month).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from importlib import resources

from redis import Redis

from tthc_monitor.core.calendar import WorkingCalendar
from tthc_monitor.core.counters import DAY_PREFIX
from tthc_monitor.reference.registry import Registry
from tthc_monitor.store.freshness import FIELDS as FRESHNESS_FIELDS
from tthc_monitor.store.freshness import freshness_key
from tthc_monitor.store.keys import Keys
from tthc_monitor.store.totals import READY, ensure_totals_sync

MAX_READ_ATTEMPTS = 20

# HGETALL of several hashes, each packed into one string "field\nvalue\n...": the
# totals and the period hash hold thousands of fields, and a reply element costs the
# client more to parse than its bytes (fields and values never hold a newline: unit ids,
# metric names and integers).
READ_HASHES = """
local packed = {}
for n, key in ipairs(KEYS) do
  packed[n] = table.concat(redis.call('HGETALL', key), '\\n')
end
return packed
"""

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
    freshness: Ints = field(default_factory=dict)
    """``event_ms`` (latest event time applied) and ``applied_ms`` (Redis' time of that
    write), epoch ms, when recorded (tthc_monitor/store/freshness.py)."""


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def unpack_hash(packed: bytes | str) -> Ints:
    """A hash packed by READ_HASHES, as ``{field: int}``."""
    text = _text(packed)
    if not text:
        return {}
    parts = text.split("\n")
    return dict(zip(parts[::2], map(int, parts[1::2]), strict=True))


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
        self._read_hashes = redis.register_script(READ_HASHES)

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
            hashes = [
                self.keys.totals,
                *(self.keys.counters(name) for name in names),
                self.keys.counters("all"),
                self.keys.stats,
                self.keys.progress,
                self.keys.counters(DAY_PREFIX + today.isoformat()),
            ]
            self._read_hashes(keys=hashes, client=pipe)
            pipe.hmget(freshness_key(self.keys.namespace), list(FRESHNESS_FIELDS))
            # One command for every ZCOUNT (a command each would cost the client more).
            self._due_counts(keys=indexes, args=ranges, client=pipe)
            raw_periods, packed, freshness, due_counts = pipe.execute()
            totals, *results = [unpack_hash(p) for p in packed]
            now_names = sorted(p for p in map(_text, raw_periods) if p >= period)
            if totals.pop(READY, None) is None:
                ensure_totals_sync(self.redis, self.keys, units)
            elif now_names == names:
                break
            names = now_names  # a period appeared meanwhile: read it too
        else:
            raise RuntimeError("the periods kept changing during the read")
        n = len(names)
        state = LiveState(
            counters=dict(zip(names, results[:n], strict=True)),
            global_=results[n],
            stats=results[n + 1],
            progress=results[n + 2],
            totals=totals,
        )
        for field_, value in results[n + 3].items():
            unit_id, metric = field_.split("|", 1)
            state.today.setdefault(unit_id, {})[metric] = value
        state.freshness = {
            name: int(value)
            for name, value in zip(FRESHNESS_FIELDS, freshness, strict=True)
            if value is not None and _text(value).isdigit()
        }
        width = 2 * len(STATES)
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
