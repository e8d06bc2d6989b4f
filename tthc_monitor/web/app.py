"""aiohttp application of ``tthc-monitor serve``.

Read-only by default: ``/metrics``, ``/api/*`` GET routes and the wall page at ``/``.
The one admin action (freezing a snapshot) needs ``Authorization: Bearer <token>``
with the token from ``TTHC_ADMIN_TOKEN``; without a configured token it is disabled.
"""

from __future__ import annotations

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
from redis import Redis
from redis.asyncio import Redis as AsyncRedis

from tthc_monitor.config import Settings
from tthc_monitor.core.index766 import load_indicators
from tthc_monitor.core.periods import LOCAL_TZ, parse_period
from tthc_monitor.metrics.collector import RedisCollector
from tthc_monitor.metrics.live import LiveReader
from tthc_monitor.store.keys import Keys
from tthc_monitor.store.snapshots import SnapshotStore
from tthc_monitor.web.summary import summary

_UNIT = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


def build_app(
    settings: Settings,
    period: str | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(LOCAL_TZ),
) -> web.Application:
    redis = Redis.from_url(settings.require_redis(), decode_responses=True)
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
            calendar=settings.calendar,
        )
    )
    reader = LiveReader(redis, settings.registry, settings.calendar, settings.namespace)
    keys = Keys(settings.namespace)

    def chosen_period(request: web.Request) -> str:
        value = request.query.get("period") or period or settings.periods.period_of(clock())
        try:
            parse_period(value)
        except ValueError as error:
            raise web.HTTPBadRequest(text=str(error)) from error
        return value

    async def metrics(_: web.Request) -> web.Response:
        body = generate_latest(collectors)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def health(_: web.Request) -> web.Response:
        return web.json_response({"redis": bool(redis.ping())})

    async def api_summary(request: web.Request) -> web.Response:
        now = clock()
        state = reader.read(now)
        document = summary(
            state, settings.registry, settings.periods, indicators, chosen_period(request), now
        )
        return web.json_response(document, dumps=_dumps)

    async def api_due(request: web.Request) -> web.Response:
        unit_id = request.match_info["unit"]
        if not _UNIT.match(unit_id) or unit_id not in settings.registry.units:
            raise web.HTTPNotFound(text="unknown unit")
        now = clock()
        bound = reader.due_bounds(now, now.astimezone(LOCAL_TZ).date())[2]
        members: list[Any] = redis.zrangebyscore(
            keys.open_index(unit_id), "-inf", bound, withscores=True
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
        client = AsyncRedis.from_url(settings.require_redis(), decode_responses=True)
        return SnapshotStore(
            client, settings.registry, settings.periods, settings.namespace
        ), client

    async def api_versions(request: web.Request) -> web.Response:
        store, client = await snapshot_store()
        try:
            infos = await store.versions(chosen_period(request))
        finally:
            await client.aclose()
        return web.json_response([vars(i) for i in infos], dumps=_dumps)

    async def api_freeze(request: web.Request) -> web.Response:
        token = settings.admin_token.get_secret_value() if settings.admin_token else ""
        given = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if not token or not hmac.compare_digest(given.encode(), token.encode()):
            raise web.HTTPUnauthorized(text="admin token required")
        store, client = await snapshot_store()
        try:
            result = await store.freeze(chosen_period(request))
        finally:
            await client.aclose()
        return web.json_response({"versions": result.versions}, dumps=_dumps)

    async def wall(_: web.Request) -> web.Response:
        page = resources.files("tthc_monitor.web").joinpath("static", "wall.html")
        return web.Response(text=page.read_text("utf-8"), content_type="text/html", charset="utf-8")

    app = web.Application()
    app.router.add_get("/", wall)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", health)
    app.router.add_get("/api/summary", api_summary)
    app.router.add_get("/api/units/{unit}/due", api_due)
    app.router.add_get("/api/snapshots", api_versions)
    app.router.add_post("/api/snapshots/freeze", api_freeze)
    return app


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
