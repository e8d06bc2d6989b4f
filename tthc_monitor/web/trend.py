"""``GET /api/trend``: a figure over the last periods, for a unit with its predecessors,
for the province, or for every report row (the wall's column), as JSON.

``unit``: a unit id, ``province`` (the default) or ``rows`` (every report row listed in
the last period); ``figure``: a name of :data:`tthc_monitor.core.trends.FIGURES`
(default ``received``); ``periods``: 1 to :data:`MAX_PERIODS` (default 12);
``period``: the last one (default the period ``serve`` shows). Every input is checked
before Redis is read: 400 for a malformed one, 404 for an unknown unit.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from redis import Redis

from tthc_monitor.config import Settings
from tthc_monitor.core.periods import PeriodScheme, parse_period
from tthc_monitor.core.trends import (
    FIGURES,
    PROVINCE,
    Trend,
    TrendFigure,
    consecutive_periods,
    period_rows,
    province_trend,
    summed_note,
    unit_trend,
)
from tthc_monitor.reference.registry import Registry
from tthc_monitor.store.keys import Keys
from tthc_monitor.store.trend_reads import read_trend_counters

MAX_PERIODS = 24
"""Two years: what a wall compares; the read is bounded by it."""
DEFAULT_PERIODS = 12
DEFAULT_FIGURE = "received"
ROWS = "rows"
"""``unit=rows``: one trend per report row listed in the last period."""
PROVINCE_NAME = "Toàn tỉnh"
_UNIT = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


def _unit_ref(registry: Registry, unit_id: str) -> dict[str, Any]:
    unit = registry.unit(unit_id)
    ref: dict[str, Any] = {"unit_id": unit_id, "name": unit.name}
    if unit.valid_to is not None:
        # valid_to is the first day out of force: staff read the last day in force.
        ref["last_day"] = (unit.valid_to - timedelta(days=1)).isoformat()
    return ref


def trend_document(trend: Trend, registry: Registry) -> dict[str, Any]:
    """The JSON of one trend: points, the predecessors summed into each, a note."""
    name = PROVINCE_NAME if trend.unit_id == PROVINCE else registry.unit(trend.unit_id).name
    points = []
    for point in trend.points:
        entry: dict[str, Any] = {"period": point.period, "value": point.value}
        if trend.figure.rate:
            entry["numerator"] = point.numerator
            entry["denominator"] = point.denominator
        entry["in_force"] = point.in_force
        entry["summed_from"] = [_unit_ref(registry, u) for u in point.summed_from]
        points.append(entry)
    summed = trend.summed_from
    return {
        "unit_id": trend.unit_id,
        "name": name,
        "figure": trend.figure.name,
        "label": trend.figure.label,
        "rate": trend.figure.rate,
        "points": points,
        "predecessors": [_unit_ref(registry, u) for u in trend.predecessors],
        "summed_from": [_unit_ref(registry, u) for u in summed],
        "note": summed_note([registry.unit(u).name for u in summed]),
    }


def listed_rows(
    registry: Registry, scheme: PeriodScheme, rows: Mapping[str, Mapping[str, Any]], last: str
) -> list[str]:
    """Report rows listed in the last period: in force on some day of it, or holding a
    figure in it (the snapshot's and the wall's rule, core/snapshot.py)."""
    first, end = scheme.bounds(last)
    during = (first.astimezone(scheme.tz).date(), end.astimezone(scheme.tz).date())
    return [
        u
        for u in registry.top_level()
        if registry.in_force_during(u, *during)
        or any(any(rows[last].get(m, {}).values()) for m in registry.subtree(u))
    ]


def compute(
    redis: Redis,
    settings: Settings,
    unit: str,
    figure: TrendFigure,
    periods: Sequence[str],
) -> dict[str, Any]:
    """Read the counters and build the document (blocking: run it in a thread)."""
    registry = settings.registry
    read = read_trend_counters(
        redis, Keys(settings.namespace), periods, list(registry.units), figure.levels
    )
    rows = period_rows(periods, read.counters, read.totals, figure.levels)
    if unit == PROVINCE:
        return trend_document(province_trend(registry, rows, figure), registry)
    if unit == ROWS:
        listed = listed_rows(registry, settings.periods, rows, periods[-1])
        trends = [
            trend_document(unit_trend(registry, settings.periods, rows, u, figure), registry)
            for u in listed
        ]
        return {
            "figure": figure.name,
            "label": figure.label,
            "rate": figure.rate,
            "periods": list(periods),
            "trends": trends,
        }
    document = trend_document(unit_trend(registry, settings.periods, rows, unit, figure), registry)
    document["periods"] = list(periods)
    return document


def trend_handler(
    settings: Settings,
    redis: Redis,
    clock: Callable[[], datetime],
    shown: str | None,
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The route's handler; ``shown``: the period ``serve --period`` shows, if fixed."""
    registry = settings.registry

    async def handler(request: web.Request) -> web.Response:
        query = request.query
        unit = query.get("unit", PROVINCE)
        if unit not in (PROVINCE, ROWS) and (not _UNIT.match(unit) or unit not in registry.units):
            raise web.HTTPNotFound(text="unknown unit")
        name = query.get("figure", DEFAULT_FIGURE)
        figure = FIGURES.get(name)
        if figure is None:
            raise web.HTTPBadRequest(text=f"figure: one of {', '.join(FIGURES)}")
        count = query.get("periods", str(DEFAULT_PERIODS))
        # ASCII digits, two at most: int() of a long or non-ASCII digit string fails.
        if not (count.isascii() and count.isdigit() and len(count) <= 2) or not (
            1 <= int(count) <= MAX_PERIODS
        ):
            raise web.HTTPBadRequest(text=f"periods: an integer from 1 to {MAX_PERIODS}")
        last = query.get("period") or shown or settings.periods.period_of(clock())
        try:
            parse_period(last)
        except ValueError as error:
            raise web.HTTPBadRequest(text=f"period: {error}") from error
        periods = consecutive_periods(last, int(count))
        document = await asyncio.to_thread(compute, redis, settings, unit, figure, periods)
        return web.json_response(document, dumps=_dumps)

    return handler


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
