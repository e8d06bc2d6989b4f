"""aiohttp application of ``tthc-monitor serve``.

Read-only by default: ``/metrics``, ``/api/*`` GET routes and the wall page at ``/``.
The one admin action (freezing a snapshot) needs ``Authorization: Bearer <token>``
with the token from ``TTHC_ADMIN_TOKEN`` (401 otherwise); without a configured token it
is disabled (403). Every input (path, query, body) is checked before it reaches Redis:
400 for a malformed one, 404 for an unknown unit, 409 for freezing an open period.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import re
from collections.abc import Callable
from datetime import datetime
from importlib import resources
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from redis.asyncio import Redis as AsyncRedis
from redis.exceptions import RedisError

from tthc_monitor.clock import clock_for
from tthc_monitor.config import Settings
from tthc_monitor.connections import redis_client, redis_sync_client
from tthc_monitor.core.periods import LOCAL_TZ, parse_period
from tthc_monitor.metrics.collector import RedisCollector
from tthc_monitor.metrics.live import LiveReader
from tthc_monitor.reference.index766_files import load_indicators
from tthc_monitor.store.freshness import read_freshness
from tthc_monitor.store.keys import Keys
from tthc_monitor.store.overdue import most_overdue
from tthc_monitor.store.snapshots import PeriodOpen, SnapshotStore
from tthc_monitor.store.totals import ensure_totals_sync
from tthc_monitor.web.freshness import OVERDUE_LIMIT, freshness_document, overdue_document
from tthc_monitor.web.summary import summary
from tthc_monitor.web.trend import trend_handler

_UNIT = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
MAX_MONTHS = 12
"""Longest snapshot the API freezes or lists (the land appendix covers 3 months)."""
MAX_BODY = 4096
"""The one POST body is a tiny JSON object; anything larger is refused (413)."""


def build_app(
    settings: Settings,
    period: str | None = None,
    clock: Callable[[], datetime] | None = None,
) -> web.Application:
    # TTHC_CLOCK_FILE (tests only, tthc_monitor/clock.py): the wall of a replayed month
    # shows that month's "now", as the workers that applied it saw it.
    clock = clock or clock_for(settings.clock_file)
    redis = redis_sync_client(settings)
    calendar = settings.calendar  # a property that reads the holiday files: read it once
    indicators = load_indicators()
    collectors = CollectorRegistry(auto_describe=False)
    collectors.register(
        RedisCollector(
            redis,
            settings.registry,
            settings.periods,
            indicators,
            settings.namespace,
            period,
            clock=clock,
            calendar=calendar,
            partitions=range(settings.partitions),
        )
    )
    reader = LiveReader(redis, settings.registry, calendar, settings.namespace)
    keys = Keys(settings.namespace)

    def chosen_period(request: web.Request, given: str | None = None) -> str:
        value = (
            given or request.query.get("period") or period or settings.periods.period_of(clock())
        )
        try:
            parse_period(value)
        except ValueError as error:
            raise web.HTTPBadRequest(text=f"period: {error}") from error
        return value

    def months_of(value: object) -> int | None:
        if value is None:
            return None
        # bool is an int in Python: refuse it explicitly.
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise web.HTTPBadRequest(text=f"months: an integer from 1 to {MAX_MONTHS}")
        text = str(value)
        if not text.isdigit() or not 1 <= int(text) <= MAX_MONTHS:
            raise web.HTTPBadRequest(text=f"months: an integer from 1 to {MAX_MONTHS}")
        return int(text)

    # The client blocks: every Redis read runs in a thread, never on the event loop, so
    # a slow read delays its own request only.
    async def metrics(_: web.Request) -> web.Response:
        body = await asyncio.to_thread(generate_latest, collectors)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def health(_: web.Request) -> web.Response:
        return web.json_response({"redis": bool(await asyncio.to_thread(redis.ping))})

    def wall_read(now: datetime, chosen: str) -> dict[str, Any]:
        """Figures, freshness and the most overdue spans: three reads, one thread."""
        state = reader.read(now, chosen)
        fresh = read_freshness(redis, settings.namespace)
        late = most_overdue(redis, keys, settings.registry.units, now, OVERDUE_LIMIT)
        document = summary(state, settings.registry, settings.periods, indicators, chosen, now)
        document["freshness"] = freshness_document(fresh, now, calendar)
        document["overdue"] = overdue_document(late, settings.registry, calendar, now)
        return document

    async def api_summary(request: web.Request) -> web.Response:
        document = await asyncio.to_thread(wall_read, clock(), chosen_period(request))
        return web.json_response(document, dumps=_dumps)

    async def api_freshness(_: web.Request) -> web.Response:
        now = clock()
        fresh = await asyncio.to_thread(read_freshness, redis, settings.namespace)
        document = freshness_document(fresh, now, calendar)
        return web.json_response(document, dumps=_dumps)

    async def api_due(request: web.Request) -> web.Response:
        unit_id = request.match_info["unit"]
        if not _UNIT.match(unit_id) or unit_id not in settings.registry.units:
            raise web.HTTPNotFound(text="unknown unit")
        now = clock()
        bound = reader.due_bounds(now, now.astimezone(LOCAL_TZ).date())[2]
        members: list[Any] = await asyncio.to_thread(
            redis.zrangebyscore, keys.open_index(unit_id), "-inf", bound, withscores=True
        )
        due = [
            {
                "dossier_id": str(member[0]).rsplit("|", 1)[0],
                "stage": str(member[0]).rsplit("|", 1)[-1],
                "due_at": datetime.fromtimestamp(float(member[1]), LOCAL_TZ).isoformat(),
            }
            for member in members
        ]
        return web.json_response({"unit_id": unit_id, "due": due}, dumps=_dumps)

    async def snapshot_store() -> tuple[SnapshotStore, AsyncRedis]:
        client = redis_client(settings)
        return SnapshotStore(
            client, settings.registry, settings.periods, settings.namespace
        ), client

    async def api_versions(request: web.Request) -> web.Response:
        store, client = await snapshot_store()
        try:
            infos = await store.versions(
                chosen_period(request), months_of(request.query.get("months"))
            )
        finally:
            await client.aclose()
        return web.json_response([vars(i) for i in infos], dumps=_dumps)

    def require_admin(request: web.Request) -> None:
        token = settings.admin_token.get_secret_value() if settings.admin_token else ""
        if not token:
            raise web.HTTPForbidden(
                text="admin routes are disabled: set TTHC_ADMIN_TOKEN to enable them"
            )
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        # compare_digest: the time taken does not tell how much of the token matched.
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode(), token.encode()
        ):
            raise web.HTTPUnauthorized(
                text="admin token required: Authorization: Bearer <TTHC_ADMIN_TOKEN>",
                headers={"WWW-Authenticate": 'Bearer realm="tthc-monitor"'},
            )

    async def freeze_request(request: web.Request) -> tuple[str, int]:
        """(period, months) from the query and an optional JSON body, both checked."""
        body: dict[str, Any] = {}
        if request.can_read_body:
            if request.content_length is not None and request.content_length > MAX_BODY:
                raise web.HTTPRequestEntityTooLarge(MAX_BODY, request.content_length)
            raw = await request.content.read(MAX_BODY + 1)
            if len(raw) > MAX_BODY:
                raise web.HTTPRequestEntityTooLarge(MAX_BODY, len(raw))
            if raw.strip():
                try:
                    parsed = json.loads(raw)
                except ValueError as error:
                    raise web.HTTPBadRequest(text="body: not valid JSON") from error
                if not isinstance(parsed, dict):
                    raise web.HTTPBadRequest(text='body: a JSON object, e.g. {"period": "2022-04"}')
                unknown = sorted(set(parsed) - {"period", "months"})
                if unknown:
                    raise web.HTTPBadRequest(text=f"body: unknown field(s) {', '.join(unknown)}")
                body = parsed
        given = body.get("period")
        if given is not None and not isinstance(given, str):
            raise web.HTTPBadRequest(text="period: a string YYYY-MM")
        query = request.query.get("period")
        if given and query and given != query:
            raise web.HTTPBadRequest(text="period: the query and the body disagree")
        months = months_of(body.get("months", request.query.get("months"))) or 1
        return chosen_period(request, given), months

    async def api_freeze(request: web.Request) -> web.Response:
        require_admin(request)
        chosen, months = await freeze_request(request)
        store, client = await snapshot_store()
        try:
            result = await store.freeze(chosen, (months,))
        except PeriodOpen as error:
            raise web.HTTPConflict(text=str(error)) from error
        finally:
            await client.aclose()
        return web.json_response({"versions": result.versions}, dumps=_dumps)

    async def wall(_: web.Request) -> web.Response:
        page = resources.files("tthc_monitor.web").joinpath("static", "wall.html")
        return web.Response(text=page.read_text("utf-8"), content_type="text/html", charset="utf-8")

    async def running_totals(_: web.Application) -> None:
        # A store written before the running totals existed gets them once, here
        # (docs/redis-layout.md, "Running totals"); later starts find them ready. Redis
        # may be down at start: the first read that finds them missing does it then.
        with contextlib.suppress(RedisError):
            await asyncio.to_thread(ensure_totals_sync, redis, keys, list(settings.registry.units))

    app = web.Application(client_max_size=MAX_BODY)
    app.on_startup.append(running_totals)
    app.router.add_get("/", wall)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", health)
    app.router.add_get("/api/summary", api_summary)
    app.router.add_get("/api/freshness", api_freshness)
    app.router.add_get("/api/units/{unit}/due", api_due)
    app.router.add_get("/api/trend", trend_handler(settings, redis, clock, period))
    app.router.add_get("/api/snapshots", api_versions)
    app.router.add_post("/api/snapshots/freeze", api_freeze)
    return app


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
