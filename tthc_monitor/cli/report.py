"""``tthc-monitor report``: the monthly report's files, from frozen snapshots.

The month's appendices come from a frozen version of the period (the latest unless
``--version``); the land appendix (Phụ lục 4) covers the quarter that ends with the
previous period, from that period's latest frozen three-month version.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from tthc_monitor.cli.common import settings_from
from tthc_monitor.cli.errors import CommandError
from tthc_monitor.config import Settings
from tthc_monitor.connections import redis_client
from tthc_monitor.core.periods import shift_period
from tthc_monitor.report.export import export_report
from tthc_monitor.report.profile import load_profile
from tthc_monitor.store.snapshots import SnapshotStore

LAND_MONTHS = 3


async def frozen(
    store: SnapshotStore, period: str, months: int, version: int | None
) -> dict[str, Any]:
    if version is None:
        versions = [v.version for v in await store.versions(period, months)]
        if not versions:
            raise CommandError(
                f"no frozen {months}-month snapshot of {period}: run "
                f"`tthc-monitor snapshot --period {period} --months {months} --freeze` first"
            )
        version = versions[-1]
    document = await store.document(period, months, version)
    if document is None:
        raise CommandError(f"{period} has no version {version} of its {months}-month snapshot")
    return document


async def read(settings: Settings, args: argparse.Namespace) -> tuple[dict[str, Any], ...]:
    redis = redis_client(settings)
    store = SnapshotStore(redis, settings.registry, settings.periods, settings.namespace)
    try:
        month = await frozen(store, args.period, 1, args.version)
        land = await frozen(store, shift_period(args.period, -1), LAND_MONTHS, None)
    finally:
        await redis.aclose()
    return month, land


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    month, land = asyncio.run(read(settings, args))
    profile = load_profile(args.profile)
    written = export_report(month, land, settings.registry, profile, args.out)
    version = month.get("version")
    print(
        f"wrote {len(written)} files to {args.out} (snapshot {args.period} v{version})",
        file=sys.stderr,
    )
    return 0
