"""``tthc-monitor snapshot``: a period's figures, live or frozen, from Redis.

Without options it reads the live counters (as before). ``--freeze`` makes a new frozen
version, ``--version V`` reads one, ``--versions`` and ``--adjustments`` list what was
frozen and what arrived since (docs/snapshot.md, "Frozen snapshots").
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from tthc_monitor.cli.common import settings_from, write_json
from tthc_monitor.cli.errors import FAILED, CommandError
from tthc_monitor.config import Settings
from tthc_monitor.connections import redis_client
from tthc_monitor.core.freeze import Adjustment, VersionInfo, covered_periods
from tthc_monitor.store.snapshots import SnapshotStore


async def read_snapshot(
    settings: Settings, redis_url: str, period: str, months: int = 1
) -> dict[str, Any]:
    redis = redis_client(settings, redis_url)
    try:
        # Reads the running totals and the periods from the first covered one on.
        snapshots = SnapshotStore(redis, settings.registry, settings.periods, settings.namespace)
        return await snapshots.live(period, months)
    finally:
        await redis.aclose()


def format_versions(infos: list[VersionInfo]) -> str:
    lines = ["months\tversion\tas_of\tkind\tadjustments"]
    lines += [f"{i.months}\t{i.version}\t{i.as_of}\t{i.kind}\t{i.adjustments}" for i in infos]
    return "\n".join(lines) + "\n"


def format_adjustments(adjustments: list[Adjustment]) -> str:
    lines = ["period\tapplied_at\tevent_id\tdossier_id\tafter\tchanges"]
    for a in adjustments:
        after = ",".join(f"{m}m:v{v}" for m, v in sorted(a.after.items()))
        changes = " ".join(f"{k}{v:+d}" for k, v in sorted(a.changes.items()))
        lines.append(
            f"{a.period}\t{a.applied_at}\t{a.event_id}\t{a.dossier_id}\t{after}\t{changes}"
        )
    return "\n".join(lines) + "\n"


async def frozen_command(settings: Settings, redis_url: str, args: argparse.Namespace) -> int:
    """--freeze, --version, --versions, --adjustments."""
    redis = redis_client(settings, redis_url)
    snapshots = SnapshotStore(redis, settings.registry, settings.periods, settings.namespace)
    try:
        if args.freeze:
            result = await snapshots.freeze(args.period, (args.months or 1,))
            version = result.versions[args.months or 1]
            print(version)
            return 0
        if args.versions:
            infos = await snapshots.versions(args.period, args.months)
            if args.json:
                write_json([_version_dict(i) for i in infos], args.json)
            else:
                print(format_versions(infos), end="")
            return 0
        if args.adjustments:
            periods = covered_periods(args.period, args.months or 1)
            adjustments = await snapshots.adjustments(periods)
            if args.json:
                write_json([a.as_dict() for a in adjustments], args.json)
            else:
                print(format_adjustments(adjustments), end="")
            return 0
        document = await snapshots.document(args.period, args.months or 1, args.version)
        if document is None:
            raise CommandError(
                f"no version {args.version} of the {args.months or 1}-month "
                f"snapshot of {args.period} (see --versions)",
                FAILED,
            )
        write_json(document, args.json)
        return 0
    finally:
        await redis.aclose()


def _version_dict(info: VersionInfo) -> dict[str, Any]:
    return {
        "period": info.period,
        "months": info.months,
        "version": info.version,
        "as_of": info.as_of,
        "kind": info.kind,
        "adjustments": info.adjustments,
    }


def run(args: argparse.Namespace) -> int:
    # --period and --months are checked by the parser (tthc_monitor/cli/dates.py); a
    # period that has not ended (PeriodOpen) exits 1 (tthc_monitor/cli/errors.py).
    settings = settings_from(args)
    redis_url = settings.require_redis()
    if args.freeze or args.versions or args.adjustments or args.version is not None:
        return asyncio.run(frozen_command(settings, redis_url, args))
    document = asyncio.run(read_snapshot(settings, redis_url, args.period, args.months or 1))
    write_json(document, args.json)
    return 0
