"""``tthc-monitor digest``: one unit's dossiers due today, next working day, overdue."""

from __future__ import annotations

import argparse
import asyncio

from tthc_monitor.alerting.digest import Digest, build_digest
from tthc_monitor.cli.common import settings_from, write_json
from tthc_monitor.cli.errors import CommandError
from tthc_monitor.connections import redis_client
from tthc_monitor.store.alert_store import AlertStore


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    if args.unit not in settings.registry.units:
        raise CommandError(
            f"unknown unit {args.unit!r}: not in the unit registry "
            f"({settings.units or 'the built-in Quảng Trị registry'})"
        )
    day = args.date  # a date already: tthc_monitor/cli/dates.py

    async def read() -> Digest:
        redis = redis_client(settings)
        try:
            store = AlertStore(redis, settings.namespace, ())
            name = settings.registry.unit(args.unit).name
            return await build_digest(store, settings.calendar, args.unit, day, name)
        finally:
            await redis.aclose()

    digest = asyncio.run(read())
    if args.json:
        write_json(digest.as_dict(), args.json)
    print(digest.text(), end="")
    return 0
