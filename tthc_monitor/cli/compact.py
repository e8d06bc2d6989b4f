"""``tthc-monitor compact [--dry-run]``: compact closed dossiers and prune by age, once.

The worker does the same on a timer (``TTHC_RETENTION_CHECK_SECONDS``); this is for
operators (docs/redis-layout.md, "Retention"). ``--dry-run`` counts, writes nothing.
"""

from __future__ import annotations

import argparse
import asyncio

from tthc_monitor.cli.common import settings_from
from tthc_monitor.clock import clock_for
from tthc_monitor.connections import redis_client
from tthc_monitor.store.retention import Retention, RetentionResult, retention_policy


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args)

    async def go() -> RetentionResult:
        redis = redis_client(settings)
        try:
            retention = Retention(
                redis,
                settings.periods,
                settings.namespace,
                retention_policy(settings),
                clock_for(settings.clock_file),
            )
            return await retention.run(dry_run=args.dry_run)
        finally:
            await redis.aclose()

    result = asyncio.run(go())
    compact, delete = (
        ("would compact", "would delete") if args.dry_run else ("compacted", "deleted")
    )
    print(
        f"{compact} {result.compacted} dossiers (periods {', '.join(result.periods) or '-'}; "
        f"{result.raced} changed meanwhile, {result.waiting} with an alert not fired yet, "
        f"{result.stale} stale index entries); {delete} {result.day_buckets} day buckets, "
        f"{result.adjustments} adjustment lists, {result.eid_conflicts} event-id conflict "
        "entries"
    )
    return 0
