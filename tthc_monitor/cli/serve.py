"""``tthc-monitor serve``: the exporter (/metrics), one process apart from the workers."""

from __future__ import annotations

import argparse
import sys

from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from redis import Redis

from tthc_monitor.cli.common import settings_from
from tthc_monitor.config import Settings
from tthc_monitor.core.index766 import load_indicators
from tthc_monitor.core.periods import parse_period
from tthc_monitor.metrics.collector import RedisCollector


def build_app(settings: Settings, period: str | None = None) -> web.Application:
    redis = Redis.from_url(settings.require_redis(), decode_responses=True)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(
        RedisCollector(
            redis,
            settings.registry,
            settings.periods,
            load_indicators(),
            settings.namespace,
            period,
        )
    )

    async def metrics(_: web.Request) -> web.Response:
        # The collector is synchronous (prometheus_client); a scrape takes milliseconds.
        body = generate_latest(registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def health(_: web.Request) -> web.Response:
        return web.json_response({"redis": bool(redis.ping())})

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", health)
    return app


def run(args: argparse.Namespace) -> int:
    if args.period:
        parse_period(args.period)
    settings = settings_from(args)
    app = build_app(settings, args.period)
    print(f"serving on http://{args.host}:{args.port}/metrics", file=sys.stderr, flush=True)
    web.run_app(app, host=args.host, port=args.port, print=None)
    return 0
