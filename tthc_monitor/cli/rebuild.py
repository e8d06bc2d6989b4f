"""``tthc-monitor rebuild``: restore Redis from the events topic, read from offset 0.

Kafka is the record and Redis the state derived from it, so a lost (or rolled back)
Redis is rebuilt by applying the whole topic again through the worker's pipeline
(tthc_monitor/pipeline): the same decode, grouping, rules, Lua write and error policy,
with this module's reader as the source and ``AccountLedger`` as the ledger.

* The partitions are assigned directly (no consumer group), from their first offset up
  to the end offsets taken when the command starts. Nothing of the worker's group
  changes: its committed offsets stay valid, because the rebuild covers everything
  before its start and the worker everything after its own committed offset, and writes
  are idempotent unions per dossier that commute. So the worker may keep running (it
  fills Redis with new events meanwhile) or be stopped; both end exact.
* ``--processes N`` (default: one per core, at most one per partition) deals the
  partitions to N forked processes (``shares``; cli/processes.py), each reading its own
  through the same pipeline to the end offsets taken once at the start, and returning
  its accounts; the parent records the progress and the ``rebuilds`` statistic once,
  only when every process succeeded (a failed one fails the command before that). The
  processes' writes commute: different dossiers, statistics added (docs/cli.md).
* The end offsets are checked by a fetch (``kafka_admin.checked_end_offsets``): tansu
  answers ListOffsets short of the end of its last record batch.
* Every offset from a partition's first offset to its end is accounted for: applied,
  already there, refused by the store (an event id another dossier holds), invalid, or
  refused by the rules (``PartitionAccount``). Offsets the first pass never received are
  fetched again (seek to the first missing offset); a fetch from an offset that the
  broker answers with a later record, or that moves the position past it without a
  record, is the broker's word that no record is there (compaction, transaction markers;
  the events topic has neither, but an operator's copy might): counted as ``empty``, not
  as missing. Offsets still missing after ``REFETCH_ATTEMPTS`` reads end the command
  with ``INCOMPLETE_EXIT`` and one line per partition naming the missing ranges
  (docs/operations.md, "Rebuild").
* Progress is recorded in ``{ns}:progress`` as the worker records it (offsets only move
  forward), so ``publish --wait`` and the worker's alert sweeper see the rebuilt state:
  at the end, and for a partition with offsets missing only up to the first of them.
* A partition whose first offset is not 0 has lost events to retention: the figures
  would be wrong, so the command stops before writing unless ``--allow-truncated``.
* Invalid messages, and events the rules fail on, were dead-lettered by the worker when
  they arrived: here they are only counted (``invalid``, ``rule_failures``), not sent
  again. Redis down or busy (a running worker writing the same dossiers): the batch is
  retried with backoff; a refused key or credentials end the command with its error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import OffsetOutOfRangeError

from tthc_monitor.cli.common import settings_from
from tthc_monitor.cli.processes import (
    REPLY_SECONDS,
    Reporter,
    default_processes,
    process_count,
    run_shares,
)
from tthc_monitor.cli.progress import progress
from tthc_monitor.config import Settings
from tthc_monitor.connections import kafka_python_config, redis_client
from tthc_monitor.kafka_admin import beginning_offsets, checked_end_offsets
from tthc_monitor.pipeline import (
    NoDeadLetters,
    Position,
    Raw,
    Step,
    Work,
    begin_all,
    build,
    counts,
    source_key,
)
from tthc_monitor.pipeline.logs import lines_on_stderr
from tthc_monitor.store.redis_store import DossierStore

BATCH = 2000
"""Records per fetch."""
APPLY_BATCH = 20_000
"""Events per store call: a dossier's events within one call are folded once (as in
``replay``), which matters when the topic holds weeks of history. The events are applied
one partition per call (a dossier's events share a partition: keyed by dossier), so the
outcome of every offset is known per partition."""
TRUNCATED_EXIT = 3
INCOMPLETE_EXIT = 4
"""Offsets that should hold records could not be read: Redis lacks their events."""
STALL_SECONDS = 30.0
"""A partition short of its end whose position does not move for this long (time spent
fetching) is left to the re-reads."""
REFETCH_ATTEMPTS = 3
"""Reads from a missing offset before giving up on it."""
REFETCH_SECONDS = 10.0
"""How long one read from a missing offset waits for the broker's answer."""
POLL_MS = 100
"""The wait of one fetch of a re-read (the position is checked between them)."""


class Record(Protocol):
    offset: int
    value: bytes | None


class Consumer(Protocol):
    """What the rebuild uses of ``AIOKafkaConsumer`` (tests wrap a real one)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def assign(self, partitions: list[TopicPartition]) -> None: ...

    def seek(self, partition: TopicPartition, offset: int) -> None: ...

    async def position(self, partition: TopicPartition) -> int: ...

    def pause(self, *partitions: TopicPartition) -> None: ...

    def resume(self, *partitions: TopicPartition) -> None: ...

    async def getmany(
        self, *partitions: TopicPartition, timeout_ms: int = 0, max_records: int | None = None
    ) -> dict[TopicPartition, list[Any]]: ...


def make_consumer(bootstrap: str, security: dict[str, Any]) -> Consumer:
    # aiokafka (Faust's client) fetches in the background while a batch is written.
    consumer: Consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        client_id="tthc-rebuild",
        group_id=None,
        enable_auto_commit=False,
        # Never jump elsewhere: an offset deleted meanwhile must show as missing, not as
        # the broker answering with a later record.
        auto_offset_reset="none",
        max_partition_fetch_bytes=8 * 1024 * 1024,
        fetch_max_bytes=64 * 1024 * 1024,
        # A fetch at a partition's end waits this long for data: short, since the
        # re-reads of the last offsets (e.g. a transaction marker) wait for its answer.
        fetch_max_wait_ms=100,
        # aiokafka takes kafka-python's security keywords (SASL, TLS context).
        **security,
    )
    return consumer


#: What became of each offset of a partition; together they account for all of them.
OUTCOMES = ("applied", "duplicates", "refused", "invalid", "rule_failures", "empty")


@dataclass
class PartitionAccount:
    """Where every offset of one partition went, from ``first`` to ``end`` (excluded)."""

    first: int
    end: int
    listed_end: int
    """The broker's ListOffsets answer (``end`` is checked by a fetch)."""
    applied: int = 0
    duplicates: int = 0
    refused: int = 0
    """Neither applied nor a duplicate: an event id another dossier holds (the store)."""
    invalid: int = 0
    rule_failures: int = 0
    empty: int = 0
    """Offsets a fetch from which the broker answered with a later record, or passed
    without one: no record there."""
    refetched: int = 0
    """Records received by a re-read, after the first pass missed them."""
    missing: list[tuple[int, int]] = field(default_factory=list)
    """[start, stop) ranges not received (yet), in order."""
    why: str = ""
    """Why the last read of a missing range failed."""
    next: int = -1
    """The offset after the highest one received."""

    def __post_init__(self) -> None:
        if self.next < 0:
            self.next = self.first

    def outcomes(self) -> dict[str, int]:
        return {name: int(getattr(self, name)) for name in OUTCOMES}

    @property
    def accounted(self) -> int:
        return sum(self.outcomes().values())

    @property
    def missing_count(self) -> int:
        return sum(stop - start for start, stop in self.missing)

    @property
    def complete(self) -> bool:
        return not self.missing and self.accounted == self.end - self.first

    @property
    def read_to(self) -> int:
        """Every offset below this one is accounted for."""
        if self.complete:
            return self.end
        return self.missing[0][0] if self.missing else self.first

    def take(self, offset: int) -> bool:
        """A record received: True the first time its offset is seen within the range."""
        if offset < self.first or offset >= self.end:
            return False
        if offset >= self.next:
            if offset > self.next:
                self.missing.append((self.next, offset))
            self.next = offset + 1
            return True
        for index, (start, stop) in enumerate(self.missing):
            if start <= offset < stop:
                parts = [(a, b) for a, b in ((start, offset), (offset + 1, stop)) if a < b]
                self.missing[index : index + 1] = parts
                self.refetched += 1
                return True
        return False

    def passed(self) -> None:
        """The position reached the end (or the partition stalled): what was not
        received up to the end is missing."""
        if self.next < self.end:
            self.missing.append((self.next, self.end))
            self.next = self.end

    def confirm_empty(self, start: int, stop: int) -> None:
        """The broker answered a fetch from ``start`` with nothing before ``stop``."""
        kept: list[tuple[int, int]] = []
        for a, b in self.missing:
            low, high = max(a, start), min(b, stop)
            if low >= high:
                kept.append((a, b))
                continue
            self.empty += high - low
            kept.extend((x, y) for x, y in ((a, low), (high, b)) if x < y)
        self.missing = kept

    def describe_missing(self) -> str:
        if not self.missing:
            return (
                f"every offset received, but the store accounted for {self.accounted} of "
                f"the {self.end - self.first} offsets {self.first}-{self.end - 1}"
            )
        ranges = ", ".join(
            str(start) if stop == start + 1 else f"{start}-{stop - 1}"
            for start, stop in self.missing
        )
        return (
            f"offsets {ranges} not read ({self.missing_count} of the {self.end - self.first} "
            f"offsets {self.first}-{self.end - 1}; {self.why or 'never delivered'})"
        )

    def figures(self) -> dict[str, Any]:
        return {
            "first": self.first,
            "end": self.end,
            "listed_end": self.listed_end,
            **self.outcomes(),
            "refetched": self.refetched,
            "missing": [[start, stop - 1] for start, stop in self.missing],
        }


@dataclass
class RebuildResult:
    topic: str = ""
    messages: int = 0
    seconds: float = 0.0
    partitions: dict[int, PartitionAccount] = field(default_factory=dict)

    @property
    def ends(self) -> dict[int, int]:
        return {p: a.end for p, a in sorted(self.partitions.items())}

    def totals(self) -> dict[str, int]:
        """Each outcome summed over the partitions."""
        return {
            name: sum(a.outcomes()[name] for a in self.partitions.values()) for name in OUTCOMES
        }

    @property
    def incomplete(self) -> dict[int, PartitionAccount]:
        return {p: a for p, a in sorted(self.partitions.items()) if not a.complete}

    def describe(self) -> str:
        rate = self.messages / self.seconds if self.seconds else 0.0
        t = self.totals()
        line = (
            f"rebuilt from {self.messages} messages of {len(self.partitions)} partitions in "
            f"{self.seconds:.1f} s ({rate:,.0f} messages/s): {t['applied']} applied, "
            f"{t['duplicates']} already there, {t['invalid']} invalid, "
            f"{t['rule_failures']} the rules refused to process"
        )
        if t["refused"]:
            line += f", {t['refused']} refused (event id of another dossier)"
        if t["empty"]:
            line += (
                f"; no record at {t['empty']} offsets (the broker skipped them: transaction "
                "markers, compaction)"
            )
        return line

    def document(self) -> dict[str, Any]:
        return {
            "complete": not self.incomplete,
            "messages": self.messages,
            **self.totals(),
            "seconds": round(self.seconds, 3),
            "end_offsets": {str(p): end for p, end in self.ends.items()},
            "partitions": {str(p): a.figures() for p, a in sorted(self.partitions.items())},
        }


class AccountLedger:
    """The rebuild's ledger in the pipeline: each batch (one partition's: batched per
    source) adds its outcomes to its partition's account, and its duplicates and
    conflicts to the statistics. Progress is recorded at the end, to the first offset
    missing (``rebuild``)."""

    def __init__(self, store: DossierStore, result: RebuildResult, bar: Reporter) -> None:
        self.store = store
        self.result = result
        self.bar = bar

    async def begin(self, work: Work) -> None:
        # Invalid messages and the rules' failures were dead-lettered by the worker when
        # they arrived: here they are only counted (NoDeadLetters).
        begin_all(work)

    async def record(self, work: Work) -> None:
        await self.store.record({}, {"duplicates": work.duplicates, "conflicts": work.conflicts})
        partition = work.items[0].position.partition
        assert partition is not None
        account = self.result.partitions[partition]
        outcome = counts(work)
        account.applied += outcome["applied"]
        account.duplicates += outcome["duplicates"]
        # The rest the store refused: an event id another dossier holds (rule refusals of
        # fresh events are applied, and counted there).
        account.refused += work.submitted - work.applied - work.duplicates
        account.invalid += outcome["invalid"]
        account.rule_failures += outcome["rule_failures"]
        self.bar.update(len(work.items))


class _Reader:
    """Reads the partitions into the store, keeping every partition's account."""

    def __init__(
        self,
        settings: Settings,
        consumer: Consumer,
        store: DossierStore,
        result: RebuildResult,
        bar: Reporter,
    ) -> None:
        self.settings = settings
        self.consumer = consumer
        self.result = result
        self.topic = settings.topic
        self.pipeline: Step[Raw] = build(
            engine=settings.engine,
            store=store,
            ledger=AccountLedger(store, result, bar),
            sink=NoDeadLetters(),
            max_size=APPLY_BATCH,
            per_source=True,
        )

    def tp(self, partition: int) -> TopicPartition:
        return TopicPartition(self.topic, partition)

    async def receive(self, partition: int, records: list[Record]) -> None:
        account = self.result.partitions[partition]
        for record in records:
            if record.offset >= account.end:
                break
            if not account.take(record.offset):
                continue  # received before (a re-read overlaps what was read)
            self.result.messages += 1
            position = Position(self.topic, partition, record.offset)
            await self.pipeline.submit(Raw(position, record.value))

    async def flush(self) -> None:
        """Apply what the pipeline holds (it applies by itself every APPLY_BATCH)."""
        await self.pipeline.join()

    async def first_pass(self) -> None:
        """Every partition from its first offset until its position reaches its end (or
        stalls); gaps are noted in the accounts."""
        accounts = self.result.partitions
        remaining = {self.tp(p) for p in accounts}
        self.consumer.assign(sorted(remaining))
        for tp in remaining:
            self.consumer.seek(tp, accounts[tp.partition].first)
        positions = {tp: accounts[tp.partition].first for tp in remaining}
        idle = dict.fromkeys(remaining, 0.0)
        while remaining:
            started = time.monotonic()
            stuck: set[TopicPartition] = set()
            try:
                polled = await self.consumer.getmany(*remaining, timeout_ms=1000, max_records=BATCH)
            except OffsetOutOfRangeError as error:
                # Deleted under the rebuild (retention): left to the re-reads, which fail.
                polled = {}
                stuck = {tp for tp in error.args[0] if tp in remaining}
            waited = time.monotonic() - started
            for tp, records in polled.items():
                await self.receive(tp.partition, records)
            for tp in sorted(remaining):
                account = accounts[tp.partition]
                position = positions[tp] if tp in stuck else await self.consumer.position(tp)
                if position != positions[tp]:
                    positions[tp], idle[tp] = position, 0.0
                else:
                    idle[tp] += waited
                if position >= account.end or tp in stuck or idle[tp] >= STALL_SECONDS:
                    account.passed()
                    remaining.discard(tp)
                    self.consumer.pause(tp)
        await self.flush()

    async def reread(self) -> None:
        """Each missing range again, from its first offset, until it is read, confirmed
        empty, or REFETCH_ATTEMPTS reads from that offset went unanswered."""
        for partition, account in sorted(self.result.partitions.items()):
            failures: dict[int, int] = defaultdict(int)
            while True:
                open_ranges = [r for r in account.missing if failures[r[0]] < REFETCH_ATTEMPTS]
                if not open_ranges:
                    break
                start = open_ranges[0][0]
                if not await self.read_from(partition, start):
                    failures[start] += 1
            await self.flush()

    async def read_from(self, partition: int, start: int) -> bool:
        """One fetch from ``start``: False when the broker gave no answer in time."""
        account = self.result.partitions[partition]
        tp = self.tp(partition)
        self.consumer.seek(tp, start)
        self.consumer.resume(tp)
        deadline = time.monotonic() + REFETCH_SECONDS
        try:
            while time.monotonic() < deadline:
                try:
                    polled = await self.consumer.getmany(tp, timeout_ms=POLL_MS, max_records=BATCH)
                except OffsetOutOfRangeError:
                    account.why = f"the broker answered offset {start} with OffsetOutOfRange"
                    return False
                records = polled.get(tp, [])
                if records:
                    # Kafka returns the records from the fetch offset on: nothing lies
                    # between ``start`` and the first one.
                    account.confirm_empty(start, records[0].offset)
                    await self.receive(partition, records)
                    return True
                position = await self.consumer.position(tp)
                if position > start:
                    # Skipped without a record (e.g. a transaction marker's batch).
                    account.confirm_empty(start, position)
                    return True
            account.why = (
                f"no record delivered from offset {start} within {REFETCH_SECONDS:g} s, "
                f"{REFETCH_ATTEMPTS} times"
            )
            return False
        finally:
            self.consumer.pause(tp)


def plan(settings: Settings, bootstrap: str) -> RebuildResult:
    """Every partition's account, from its first offset to the end offset taken now."""
    topic = settings.topic
    security = kafka_python_config(settings)
    firsts = beginning_offsets(bootstrap, topic, security=security)
    found = checked_end_offsets(bootstrap, topic, security=security)
    result = RebuildResult(topic=topic)
    for partition, offsets in sorted(found.items()):
        first = firsts.get(partition, 0)
        if offsets.end > first:
            result.partitions[partition] = PartitionAccount(first, offsets.end, offsets.listed)
    return result


def shares(sizes: dict[int, int], count: int) -> list[list[int]]:
    """The partitions dealt to at most ``count`` processes: each partition, largest
    first, to the share with the fewest messages so far, so the shares end together.
    Every share is non-empty; each lists its partitions in order."""
    dealt: list[list[int]] = [[] for _ in range(min(count, len(sizes)))]
    loads = [0] * len(dealt)
    for partition in sorted(sizes, key=lambda p: (-sizes[p], p)):
        index = loads.index(min(loads))
        dealt[index].append(partition)
        loads[index] += sizes[partition]
    return [sorted(share) for share in dealt]


async def read_share(
    settings: Settings, bootstrap: str, redis_url: str, share: RebuildResult, bar: Reporter
) -> None:
    """Read ``share``'s partitions (manually assigned, to the end offsets of the plan)
    into the store through the pipeline, filling their accounts. The progress record is
    the caller's, once for every share."""
    redis = redis_client(settings, redis_url)
    # Before any connection exists: every connection of the pool takes it.
    redis.connection_pool.connection_kwargs["socket_timeout"] = REPLY_SECONDS
    store = DossierStore(redis, settings.engine, settings.namespace)
    consumer = make_consumer(bootstrap, dict(kafka_python_config(settings)))
    await consumer.start()
    try:
        reader = _Reader(settings, consumer, store, share, bar)
        await reader.first_pass()
        await reader.reread()
    finally:
        await consumer.stop()
        await redis.aclose()


async def record_end(settings: Settings, redis_url: str, result: RebuildResult) -> None:
    """The end offsets, including invalid messages at the tail of a partition; for a
    partition with offsets missing, the first of them. ``rebuilds`` counts complete
    rebuilds only."""
    redis = redis_client(settings, redis_url)
    store = DossierStore(redis, settings.engine, settings.namespace)
    try:
        await store.record(
            {source_key(result.topic, p): a.read_to for p, a in result.partitions.items()},
            {"rebuilds": 1, "rebuilt_messages": result.messages} if not result.incomplete else {},
        )
    finally:
        await redis.aclose()


def rebuild(
    settings: Settings, bootstrap: str, redis_url: str, processes: int | None = None
) -> RebuildResult:
    """Plan, read the partitions in ``processes`` processes (default: one per core, at
    most one per partition; each its share, as the members of a consumer group would,
    but to the plan's end offsets), then record the progress once, and only when every
    process succeeded: a failed one raises here before."""
    started = time.perf_counter()
    result = plan(settings, bootstrap)
    sizes = {p: a.end - a.first for p, a in result.partitions.items()}
    dealt = shares(sizes, processes or default_processes(len(sizes))) or [[]]

    def work(index: int, bar: Reporter) -> RebuildResult:
        share = RebuildResult(
            topic=result.topic, partitions={p: result.partitions[p] for p in dealt[index]}
        )
        with lines_on_stderr():
            asyncio.run(read_share(settings, bootstrap, redis_url, share, bar))
        return share

    total = sum(a.end - a.first for a in result.partitions.values())
    if len(dealt) > 1:
        print(
            f"rebuilding in {len(dealt)} processes, partitions "
            + "; ".join(",".join(map(str, share)) for share in dealt),
            file=sys.stderr,
        )
    for share in run_shares(
        len(dealt), work, lambda: progress("rebuild", total=total, unit="sự kiện")
    ):
        result.partitions.update(share.partitions)
        result.messages += share.messages
    with lines_on_stderr():
        asyncio.run(record_end(settings, redis_url, result))
    result.seconds = time.perf_counter() - started
    return result


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """rebuild's own options (the parser is cli/main.py's)."""
    parser.add_argument(
        "--processes",
        type=process_count,
        metavar="N",
        help="read the partitions in N processes, each its share of the partitions "
        "(default: one per core, at most one per partition)",
    )


def truncated_partitions(settings: Settings, bootstrap: str) -> dict[int, int]:
    """Partitions whose first offset is past 0 (retention deleted events): p -> first."""
    firsts = beginning_offsets(bootstrap, settings.topic, security=kafka_python_config(settings))
    return {p: first for p, first in firsts.items() if first > 0}


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    settings.engine  # noqa: B018 - load the reference data before starting anything
    bootstrap = settings.require_kafka()
    redis_url = settings.require_redis()
    truncated = truncated_partitions(settings, bootstrap)
    if truncated and not args.allow_truncated:
        print(
            f"tthc-monitor rebuild: {settings.topic} no longer starts at offset 0 "
            f"(partition -> first offset: {truncated}); the events before were deleted by "
            "retention and a rebuild would miss them. Restore Redis from a backup and "
            "rebuild on top of it with --allow-truncated (docs/operations.md).",
            file=sys.stderr,
        )
        return TRUNCATED_EXIT
    result = rebuild(settings, bootstrap, redis_url, args.processes)
    print(result.describe(), file=sys.stderr)
    corrected = {
        p: (a.listed_end, a.end) for p, a in result.partitions.items() if a.end != a.listed_end
    }
    if corrected:
        print(
            "tthc-monitor rebuild: the broker listed end offsets short of its fetch high "
            f"watermark (partition -> listed, read to): {corrected}",
            file=sys.stderr,
        )
    if args.json:
        args.json.write_text(json.dumps(result.document(), indent=2) + "\n", encoding="utf-8")
    if result.incomplete:
        for partition, account in result.incomplete.items():
            print(
                f"tthc-monitor rebuild: {settings.topic} partition {partition}: "
                f"{account.describe_missing()}",
                file=sys.stderr,
            )
        print(
            f"tthc-monitor rebuild: incomplete (exit {INCOMPLETE_EXIT}): Redis lacks the "
            "events at the offsets above, and the progress of their partitions stops at the "
            "first of them. Check the broker, then run the rebuild again (docs/operations.md, "
            '"Rebuild").',
            file=sys.stderr,
        )
        return INCOMPLETE_EXIT
    return 0
