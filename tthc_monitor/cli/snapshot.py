"""``tthc-monitor snapshot``: a period's figures as read from Redis."""

from __future__ import annotations

import argparse
import asyncio
from datetime import datetime
from typing import Any

from redis.asyncio import Redis

from tthc_monitor.cli.common import settings_from, write_json
from tthc_monitor.config import Settings
from tthc_monitor.core.periods import LOCAL_TZ, parse_period
from tthc_monitor.core.snapshot import build_snapshot
from tthc_monitor.store.redis_store import DossierStore


async def read_snapshot(
    settings: Settings, redis_url: str, period: str, months: int = 1
) -> dict[str, Any]:
    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        store = DossierStore(redis, settings.engine, settings.namespace)
        counters = await store.read_counters()
    finally:
        await redis.aclose()
    return build_snapshot(
        period, settings.periods, settings.registry, counters, datetime.now(LOCAL_TZ), months
    )


def run(args: argparse.Namespace) -> int:
    parse_period(args.period)
    settings = settings_from(args)
    document = asyncio.run(
        read_snapshot(settings, settings.require_redis(), args.period, args.months)
    )
    write_json(document, args.json)
    return 0
