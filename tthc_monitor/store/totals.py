"""Running totals of the counters, so reads cost what they read (docs/redis-layout.md,
"Running totals").

``{ns}:totals`` holds, per ``{unit}|{metric}``, the sum of that field over every period
of ``{ns}:periods``. The dossier write adds to it in the same Lua call as the period
deltas (``DossierStore._apply_args``), so it cannot drift from them. Readers take from
it the all-time flows and the current levels; the level at the end of period P is the
total minus the changes of the periods after P (:func:`tthc_monitor.core.snapshot.
unit_figures`), so a snapshot reads only its own periods and those after it.

A store written before the totals existed lacks the field ``|ready``: the first reader
(or ``tthc-monitor serve`` at start) runs ``init_totals.lua``, which sums every period
hash and fills the inter-agency due indexes in one atomic call (once; a no-op after).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from typing import Any

from redis import Redis
from redis.asyncio import Redis as AsyncRedis

from tthc_monitor.store.keys import Keys

READY = "|ready"
"""Field of ``{ns}:totals`` set once the totals cover every period."""
MAX_ATTEMPTS = 20


class TotalsBusy(Exception):
    """Periods kept appearing while the totals were computed: transient, try again."""


def _script() -> str:
    return (
        resources.files("tthc_monitor.store").joinpath("lua", "init_totals.lua").read_text("utf-8")
    )


def _text(value: str | bytes) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


def init_call(
    keys: Keys, units: Iterable[str], periods: Iterable[Any]
) -> tuple[list[str], list[str]]:
    """KEYS and ARGV of init_totals.lua for the periods read from ``{ns}:periods``."""
    names = sorted(_text(p) for p in periods)
    call_keys = [keys.periods, keys.totals, *(keys.counters(p) for p in names)]
    for unit_id in units:
        call_keys.extend((keys.open_index(unit_id), keys.open_interagency(unit_id)))
    return call_keys, [str(len(names)), *names]


def is_ready(totals: Mapping[Any, Any]) -> bool:
    return READY in totals or READY.encode() in totals


def level_totals(raw: Mapping[Any, Any]) -> dict[str, int]:
    """The totals hash as ``{unit|metric: n}``, without the ``|ready`` mark."""
    return {_text(k): int(v) for k, v in raw.items() if _text(k) != READY}


async def ensure_totals(redis: AsyncRedis, keys: Keys, units: Sequence[str]) -> bool:
    """Compute the totals if the store lacks them; True if it did."""
    script = redis.register_script(_script())
    for _ in range(MAX_ATTEMPTS):
        if await redis.hexists(keys.totals, READY):
            return False
        call_keys, args = init_call(keys, units, await redis.smembers(keys.periods))
        outcome = int(await script(keys=call_keys, args=args))
        if outcome:
            return outcome == 2
    raise TotalsBusy(f"periods kept changing during {MAX_ATTEMPTS} tries")


def ensure_totals_sync(redis: Redis, keys: Keys, units: Sequence[str]) -> bool:
    """:func:`ensure_totals` for a blocking client (the exporter)."""
    script = redis.register_script(_script())
    for _ in range(MAX_ATTEMPTS):
        if redis.hexists(keys.totals, READY):
            return False
        call_keys, args = init_call(keys, units, redis.smembers(keys.periods))
        outcome = int(script(keys=call_keys, args=args))
        if outcome:
            return outcome == 2
    raise TotalsBusy(f"periods kept changing during {MAX_ATTEMPTS} tries")
