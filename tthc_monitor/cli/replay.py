"""``tthc-monitor replay``: the worker's pipeline, fed from a file instead of Kafka.

The same decode, grouping, store, error policy and statistics as the worker
(tthc_monitor/pipeline). Invalid lines are refused as ``publish`` refuses them: each
named (``FILE:LINE: reason``), then exit 2 with nothing applied, unless
``--skip-invalid``: then they are skipped, counted and named once each. An event the
rules fail on (``ProcessingError``) is a dead letter, as in the worker: named on stderr,
counted in ``dead_letters``, and the replay carries on. Dead letters (invalid lines
skipped, the rules' failures) are also written to ``--dead-letters FILE`` when given:
one JSON object per line naming file, line, event id and reason, never the payload
(the input file holds it), sorted by line number. Redis down or busy: retried with
backoff, as the worker does.

``--processes N`` (default: one per core for a large file) splits the lines by dossier
(``share_of``) into N forked processes, each running the whole pipeline on its share;
the counts are summed and the dead letters merged in line order, so the summary, the
figures and the dead-letter file are those of one process (docs/cli.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

import orjson
from redis.asyncio import Redis

from tthc_monitor.cli.common import (
    STDIN,
    InvalidLines,
    read_lines,
    settings_from,
    source_name,
    write_json,
)
from tthc_monitor.cli.processes import (
    REPLY_SECONDS,
    Reporter,
    default_processes,
    process_count,
    run_shares,
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
AUTO_LINES = 100_000
"""From this many lines on, ``replay`` uses one process per core unless told."""
MAX_AUTO_PROCESSES = 8
"""At most this many by default (the topic's default partition count: the scale the
project is sized by; more only with ``--processes``)."""


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
        "on) to FILE, one JSON object per line: file, line, event id, reason; in line order",
    )
    parser.add_argument(
        "--processes",
        type=process_count,
        metavar="N",
        help=f"replay in N processes, each the dossiers of its share (default: one per core "
        f"for {AUTO_LINES:,} lines or more, else 1)",
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


def share_of(raw: bytes, number: int, count: int) -> int:
    """The process a line goes to: by its dossier id, as the producer's partitioner
    keys by it, so a dossier's events stay in one process and in file order. A line
    without a readable dossier id (an invalid line: a dead letter whatever its share)
    goes by its number. crc32, not ``hash``: stable whatever the interpreter's seed."""
    if count == 1:
        return 0
    try:
        dossier = orjson.loads(raw).get("dossier_id")
    except (orjson.JSONDecodeError, AttributeError):
        dossier = None
    if isinstance(dossier, str):
        return zlib.crc32(dossier.encode("utf-8")) % count
    return number % count


async def replay_lines(
    settings: Settings,
    redis_url: str,
    lines: Lines,
    name: str,
    bar: Reporter,
    dead_letters: Path | None,
) -> Counter[str]:
    redis = Redis.from_url(redis_url, decode_responses=True, socket_timeout=REPLY_SECONDS)
    store = DossierStore(redis, settings.engine, settings.namespace)
    sink: DeadLetterSink = FileDeadLetters(dead_letters) if dead_letters else LoggedDeadLetters()
    outcome: Counter[str] = Counter()
    try:

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


def replay_shares(
    settings: Settings,
    redis_url: str,
    lines: Callable[[], Lines],
    name: str,
    total: int,
    dead_letters: Path | None,
    processes: int,
) -> Counter[str]:
    """The lines in ``processes`` processes, each the dossiers of its share (``share_of``)
    through the whole pipeline; the counts summed, the dead letters written to
    ``dead_letters`` in line order (``merge_dead_letters``) whatever the count."""
    with tempfile.TemporaryDirectory(prefix="tthc-replay-") as folder:
        parts = [Path(folder) / f"dead-letters-{index}.jsonl" for index in range(processes)]

        def work(index: int, bar: Reporter) -> Counter[str]:
            share = (
                (number, raw)
                for number, raw in lines()
                if share_of(raw, number, processes) == index
            )
            letters = parts[index] if dead_letters else None
            with lines_on_stderr():
                return asyncio.run(replay_lines(settings, redis_url, share, name, bar, letters))

        outcomes = run_shares(
            processes, work, lambda: progress("replay", total=total, unit="sự kiện")
        )
        if dead_letters:
            merge_dead_letters(parts, dead_letters)
    return sum(outcomes, Counter())


def merge_dead_letters(parts: list[Path], path: Path) -> None:
    """One report from the processes' files, sorted by line number: the same bytes for
    any number of processes (one process writes a batch's invalid lines before the
    rules' failures, so its own order is not the file's either). No dead letters: no
    file, as before."""
    records: list[tuple[int, str]] = []
    for part in parts:
        if part.exists():
            with part.open(encoding="utf-8") as handle:
                records.extend((json.loads(line)["offset"], line) for line in handle)
    if not records:
        return
    records.sort(key=lambda record: record[0])
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        handle.writelines(line for _, line in records)


def processes_for(requested: int | None, total: int) -> int:
    """``--processes``, else one per core for a file of ``AUTO_LINES`` lines or more
    (below, starting processes costs more than it saves), else one."""
    if requested:
        return requested
    return default_processes(MAX_AUTO_PROCESSES) if total >= AUTO_LINES else 1


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
        processes = processes_for(args.processes, total)
        if processes > 1:
            print(f"replaying in {processes} processes, by dossier", file=sys.stderr)
        outcome = replay_shares(settings, redis_url, lines, name, total, letters, processes)
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
