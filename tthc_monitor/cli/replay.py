"""``tthc-monitor replay``: the worker's pipeline, fed from a file instead of Kafka.

The same decode, grouping, store, error policy and statistics as the worker
(tthc_monitor/pipeline). Invalid lines are refused as ``publish`` refuses them: each
named (``FILE:LINE: reason``), then exit 2 with nothing applied, unless
``--skip-invalid``: then they are skipped, counted and named once each. An event the
rules fail on (``ProcessingError``) is a dead letter, as in the worker: named on stderr,
counted in ``dead_letters``, and the replay carries on. Dead letters (invalid lines
skipped, the rules' failures) are also written to ``--dead-letters FILE`` when given:
one JSON object per line naming file, line, event id and reason, never the payload
(the input file holds it). Redis down or busy: retried with backoff, as the worker does.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

from redis.asyncio import Redis

from tthc_monitor.cli.common import (
    STDIN,
    InvalidLines,
    read_lines,
    settings_from,
    source_name,
    write_json,
)
from tthc_monitor.cli.progress import progress
from tthc_monitor.cli.snapshot import read_snapshot
from tthc_monitor.config import Settings
from tthc_monitor.core.periods import parse_period
from tthc_monitor.embedded import Embedded
from tthc_monitor.ingest import Rejection, decode
from tthc_monitor.pipeline import (
    DeadLetterSink,
    FileDeadLetters,
    Position,
    Raw,
    StoreLedger,
    Work,
    build,
    counts,
)
from tthc_monitor.pipeline.dead_letters import LoggedDeadLetters
from tthc_monitor.pipeline.logs import lines_on_stderr
from tthc_monitor.store.redis_store import DossierStore

BATCH = 20_000
"""Events grouped per store call: a dossier's events within one call are folded once, so
larger is faster for a file sorted by time (a dossier's events lie weeks apart)."""


Lines = Iterable[tuple[int, bytes]]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """replay's own options (the parser is cli/main.py's)."""
    parser.add_argument(
        "--skip-invalid",
        action="store_true",
        help="replay the valid lines even when some are invalid (each is named and counted)",
    )
    parser.add_argument(
        "--dead-letters",
        type=Path,
        metavar="FILE",
        help="also write the dead letters (invalid lines skipped, events the rules failed "
        "on) to FILE, one JSON object per line: file, line, event id, reason",
    )


def line_source(path: Path) -> Callable[[], Lines]:
    """The input's numbered lines, as often as asked: standard input is read once and
    kept (the check and the replay both read it)."""
    if path == STDIN:
        kept = list(read_lines(path))
        return lambda: kept
    return lambda: read_lines(path)


def check(path: Path, lines: Lines, settings: Settings, skip_invalid: bool) -> int:
    """Refuse an input with invalid lines, as ``publish`` does; returns the line count."""
    if skip_invalid:
        # Counted only (for the progress bar): the pipeline names each invalid line.
        return sum(1 for _ in lines)
    invalid = InvalidLines(path)
    total = 0
    for number, raw in lines:
        total += 1
        outcome = decode(raw, settings.engine)
        if isinstance(outcome, Rejection):
            invalid.note(number, outcome)
    invalid.refuse_unless(False, valid=total - invalid.count, action="replayed")
    return total


async def replay_lines(
    settings: Settings,
    redis_url: str,
    lines: Lines,
    name: str,
    total: int,
    dead_letters: Path | None,
) -> Counter[str]:
    redis = Redis.from_url(redis_url, decode_responses=True)
    store = DossierStore(redis, settings.engine, settings.namespace)
    sink: DeadLetterSink = FileDeadLetters(dead_letters) if dead_letters else LoggedDeadLetters()
    outcome: Counter[str] = Counter()
    try:
        with progress("replay", total=total, unit="sự kiện") as bar:

            def done(work: Work) -> None:
                outcome.update(counts(work))
                bar.update(len(work.items))

            pipeline = build(
                engine=settings.engine,
                store=store,
                ledger=StoreLedger(store),
                sink=sink,
                done=done,
                max_size=BATCH,
            )
            for number, raw in lines:
                await pipeline.submit(Raw(Position.line(name, number), raw))
            await pipeline.join()
    finally:
        if isinstance(sink, FileDeadLetters):
            sink.close()
        await redis.aclose()
    return outcome


def run(args: argparse.Namespace) -> int:
    if args.period:
        parse_period(args.period)
    settings = settings_from(args)
    settings.engine  # noqa: B018 - load the reference data before starting anything
    lines = line_source(args.file)
    total = check(args.file, lines(), settings, args.skip_invalid)
    embedded: Embedded | None = None
    redis_url = settings.redis_url
    if not redis_url:
        embedded = Embedded()
        redis_url = embedded.start_redis()
        print(f"started an embedded Redis at {redis_url}", file=sys.stderr)
    try:
        started = time.perf_counter()
        name = source_name(args.file)
        letters: Path | None = args.dead_letters
        with lines_on_stderr():
            outcome = asyncio.run(replay_lines(settings, redis_url, lines(), name, total, letters))
        print(summary(outcome, time.perf_counter() - started), file=sys.stderr)
        if args.period:
            snapshot = asyncio.run(read_snapshot(settings, redis_url, args.period))
            write_json(snapshot, args.json)
    finally:
        if embedded:
            embedded.stop()
    return 0


def summary(outcome: Counter[str], elapsed: float) -> str:
    total = outcome["applied"] + outcome["duplicates"]
    rate = total / elapsed if elapsed else 0.0
    line = (
        f"replayed {total} events in {elapsed:.2f} s ({rate:,.0f} events/s): "
        f"{outcome['applied']} applied, {outcome['duplicates']} duplicates, "
        f"{outcome['refused']} out of sequence, {outcome['invalid']} invalid lines skipped"
    )
    if outcome["rule_failures"]:
        line += f", {outcome['rule_failures']} events the rules failed on (dead letters)"
    return line
