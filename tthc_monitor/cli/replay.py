"""``tthc-monitor replay``: the same core and store, fed from a file instead of Kafka."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from redis.asyncio import Redis

from tthc_monitor.cli.common import read_lines, settings_from, write_json
from tthc_monitor.cli.snapshot import read_snapshot
from tthc_monitor.config import Settings
from tthc_monitor.core.periods import parse_period
from tthc_monitor.embedded import Embedded
from tthc_monitor.ingest import Rejection, decode
from tthc_monitor.store.redis_store import DossierStore, Incoming

BATCH = 20_000
"""Events grouped per store call: a dossier's events within one call are folded once, so
larger is faster for a file sorted by time (a dossier's events lie weeks apart)."""


async def replay_file(settings: Settings, redis_url: str, args: argparse.Namespace) -> int:
    engine = settings.engine
    redis = Redis.from_url(redis_url, decode_responses=True)
    store = DossierStore(redis, engine, settings.namespace)
    started = time.perf_counter()
    applied = duplicates = invalid = refused = 0
    batch: list[Incoming] = []

    async def flush() -> None:
        nonlocal applied, duplicates, refused
        if batch:
            result = await store.apply(batch)
            applied += result.applied
            duplicates += result.duplicates
            refused += len(result.refused)
            batch.clear()

    try:
        for number, raw in read_lines(args.file):
            decoded = decode(raw, engine)
            if isinstance(decoded, Rejection):
                invalid += 1
                print(f"{args.file}:{number}: {decoded.describe()}", file=sys.stderr)
                continue
            batch.append(Incoming(decoded))
            if len(batch) >= BATCH:
                await flush()
        await flush()
        await store.record({}, {"invalid_lines": invalid})
    finally:
        await redis.aclose()
    elapsed = time.perf_counter() - started
    total = applied + duplicates
    rate = total / elapsed if elapsed else 0.0
    print(
        f"replayed {total} events in {elapsed:.2f} s ({rate:,.0f} events/s): "
        f"{applied} applied, {duplicates} duplicates, {refused} out of sequence, "
        f"{invalid} invalid lines skipped",
        file=sys.stderr,
    )
    if args.period:
        write_json(await read_snapshot(settings, redis_url, args.period), args.json)
    return 0


def run(args: argparse.Namespace) -> int:
    if args.period:
        parse_period(args.period)
    settings = settings_from(args)
    settings.engine  # noqa: B018 - load the reference data before starting anything
    embedded: Embedded | None = None
    redis_url = settings.redis_url
    if not redis_url:
        embedded = Embedded()
        redis_url = embedded.start_redis()
        print(f"started an embedded Redis at {redis_url}", file=sys.stderr)
    try:
        return asyncio.run(replay_file(settings, redis_url, args))
    finally:
        if embedded:
            embedded.stop()
