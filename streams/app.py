"""The Faust application: one agent on ``dossier-events``, dead letters aside.

Offsets never run ahead of the state:

* the agent runs with ``concurrency=1`` (with more, faust-streaming can commit an
  offset past a message still in flight: faust-streaming issue #606);
* it acks events itself, only after Redis has the write or the dead-letter topic has
  the message (``streams/batching.py``). Faust's own acking happens in a ``finally``
  block, so it would also ack an event whose processing was cancelled by a shutdown
  or failed, and the next commit would skip it;
* a Redis outage, or any failure that is not the rules' own, is retried with backoff
  for as long as it lasts: the partition stalls (consumer lag shows it) instead of
  losing events. Only an event the pure rules cannot process goes to the dead-letter
  topic, since retrying a deterministic failure cannot help;
* a message counts once in the statistics, and a dead letter is sent once, however
  often its batch is attempted or delivered: the batch's verdicts, the claims of its
  dead letters and its progress are recorded in Redis by record_progress.lua, and a
  claim whose send may have happened is checked in the dead-letter topic before any
  second send (docs/faults.md, "Dead letters and statistics, once").
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import logging
import os
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Any, TypeVar

import faust
from aiokafka import AIOKafkaConsumer, TopicPartition
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError as RedisResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from typing_extensions import override

from schemas.events import DossierEvent
from streams import worker_metrics
from streams.batching import (
    Batch,
    Claim,
    Decided,
    decide,
    judge_request,
    next_offsets,
    run_batches,
)
from tthc_monitor.alerting.sinks import KafkaSink, WebhookSink
from tthc_monitor.alerting.sweeper import Sink, Sweeper
from tthc_monitor.config import Settings
from tthc_monitor.connections import faust_credentials, kafka_python_config, redis_client
from tthc_monitor.ingest import Rejection, decode
from tthc_monitor.kafka_admin import end_offsets
from tthc_monitor.store.alert_store import AlertStore
from tthc_monitor.store.redis_store import BatchResult, DossierStore, Incoming, ProcessingError
from tthc_monitor.store.retention import Retention, retention_policy
from tthc_monitor.store.snapshots import Clock, SnapshotStore, local_now

log = logging.getLogger("tthc_monitor.worker")

MAX_BACKOFF = 30.0
EXIT_STOPPED_UNAPPLIED = 75
"""Exit status (EX_TEMPFAIL) of a worker told to stop while a batch cannot be applied."""
REDIS_DOWN = (RedisConnectionError, RedisTimeoutError)
T = TypeVar("T")


async def periodic(what: str, step: Awaitable[T]) -> T | None:
    """One run of a periodic task, or None when it failed and was logged.

    A Faust timer that raises stops for good, so every failure is logged here and the
    task runs again at its next tick; an outage is one line per tick, not a traceback.
    """
    try:
        return await step
    except REDIS_DOWN as error:
        log.warning("%s: Redis unavailable (%s); next tick", what, error)
    except Exception:
        log.exception("%s failed; trying again at the next tick", what)
    return None


DEAD_LETTER_LEASE_MS = 60_000
"""How long a dead letter claimed by another worker, and not found in the dead-letter
topic, is left to it (its send may still be under way) before this one sends it."""
DEAD_LETTER_CHECK_SECONDS = 120.0
"""At most this long to read the dead-letter topic when checking claims."""


class ClaimHeld(Exception):
    """Another worker holds the claim of a dead letter of the batch: retry later."""


class WorkerStore(DossierStore):
    """The worker's store: ``apply`` writes the events; the batch's statistics are
    recorded with its progress, in one call (``handle`` below)."""

    @override
    async def _record_progress(self, batch: Iterable[Incoming], result: BatchResult) -> None:
        """Nothing: a statistic recorded apart from the progress would count again when
        the batch is delivered again."""


def create_app(settings: Settings, clock: Clock = local_now) -> faust.App:
    """``clock`` tells the automatic freeze (and the adjustment listing) what time it is,
    and which alerts are due."""
    settings.faust_data_dir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        # The app id is also the Kafka consumer group.
        settings.consumer_group,
        broker=f"kafka://{settings.require_kafka()}",
        store="memory://",
        datadir=str(settings.faust_data_dir),
        web_enabled=False,
        web_port=settings.web_port,
        web_bind="127.0.0.1",
        topic_partitions=settings.partitions,
        broker_session_timeout=settings.broker_session_timeout,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        broker_credentials=faust_credentials(settings),
    )
    source = app.topic(
        settings.topic,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=settings.partitions,
    )
    dead_letters = app.topic(
        settings.dlq_topic,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=1,
    )
    alerts_out = app.topic(
        settings.alerts_topic,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=settings.partitions,
    )
    engine = settings.engine
    state: dict[str, DossierStore] = {}
    sweepers: dict[str, Sweeper] = {}
    frozen: dict[str, Any] = {}

    def store() -> DossierStore:
        if "store" not in state:
            redis = redis_client(settings)
            state["store"] = WorkerStore(
                redis, engine, settings.namespace, clock, settings.alert_horizon
            )
        return state["store"]

    async def send_alert(key: bytes, value: bytes) -> Any:
        return await alerts_out.send(key=key, value=value)

    def sweeper() -> Sweeper:
        if "sweeper" not in sweepers:
            sinks: list[Sink] = [KafkaSink(send_alert)]
            if settings.alert_webhook_url:
                sinks.append(WebhookSink(settings.alert_webhook_url))
            alert_store = AlertStore(store().redis, settings.namespace, [s.name for s in sinks])
            sweepers["sweeper"] = Sweeper(
                alert_store,
                sinks,
                clock,
                batch=settings.alert_batch,
                lease=settings.alert_lease_seconds,
                horizon=settings.alert_horizon,
            )
        return sweepers["sweeper"]

    def snapshots() -> SnapshotStore:
        if "snapshots" not in frozen:
            frozen["snapshots"] = SnapshotStore(
                store().redis, settings.registry, settings.periods, settings.namespace, clock
            )
        snapshot_store: SnapshotStore = frozen["snapshots"]
        return snapshot_store

    def retention() -> Retention:
        if "retention" not in frozen:
            frozen["retention"] = Retention(
                store().redis,
                settings.periods,
                settings.namespace,
                retention_policy(settings),
                clock,
            )
        retention_job: Retention = frozen["retention"]
        return retention_job

    owner = uuid.uuid4().hex
    """This process, in the claims of the dead letters it sends."""
    sent: set[str] = set()
    """Dead letters (``tthc-source``) this process sent whose batch is not recorded yet."""
    dead_letter_end: dict[str, int] = {}
    """A lower bound of the dead-letter topic's end offset (the claims' mark)."""

    async def dead_letter(message: Any, rejection: Rejection) -> None:
        original: bytes = message.value or b""
        digest = hashlib.sha256(original).hexdigest()
        headers = {
            "tthc-reason": rejection.reason.encode("utf-8"),
            "tthc-field": (rejection.field or "").encode("utf-8"),
            "tthc-event-id": (rejection.event_id or "").encode("utf-8"),
            "tthc-source": f"{message.topic}:{message.partition}:{message.offset}".encode(),
            "tthc-sha256": digest.encode(),
            "tthc-payload": settings.dlq_payload.encode(),
        }
        key: bytes | None
        if settings.dlq_payload == "copy":
            key, value = message.key, original
        else:
            # A refused message may carry personal data (an unknown citizen_name field):
            # keep none of its bytes, key included, only where to find it while the
            # source topic retains it, and a hash to check that it is the same message.
            key = None
            value = json.dumps(
                {
                    "reason": rejection.reason,
                    "field": rejection.field,
                    "event_id": rejection.event_id,
                    "topic": message.topic,
                    "partition": message.partition,
                    "offset": message.offset,
                    "sha256": digest,
                    "size": len(original),
                },
                ensure_ascii=False,
            ).encode("utf-8")
        # Wait for the broker's ack: the original offset is acked after this.
        delivered = await dead_letters.send(key=key, value=value, headers=headers)
        metadata = await delivered
        dead_letter_end["end"] = max(dead_letter_end.get("end", 0), metadata.offset + 1)
        log.warning(
            "dead-lettered %s (partition %s offset %s)",
            rejection.describe(),
            message.partition,
            message.offset,
        )

    async def dead_letter_topic_end() -> int:
        if "end" not in dead_letter_end:
            ends = await asyncio.get_running_loop().run_in_executor(
                None,
                functools.partial(
                    end_offsets,
                    settings.require_kafka(),
                    settings.dlq_topic,
                    security=kafka_python_config(settings),
                ),
            )
            dead_letter_end["end"] = max(dead_letter_end.get("end", 0), ends.get(0, 0))
        return dead_letter_end["end"]

    async def found_in_dead_letter_topic(since: int, wanted: set[str]) -> set[str]:
        """Which of ``wanted`` (``tthc-source`` values) the dead-letter topic holds at or
        after offset ``since``."""
        loop = asyncio.get_running_loop()
        ends = await loop.run_in_executor(
            None,
            functools.partial(
                end_offsets,
                settings.require_kafka(),
                settings.dlq_topic,
                security=kafka_python_config(settings),
            ),
        )
        end = ends.get(0, 0)
        found: set[str] = set()
        if end <= since:
            return found
        consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.require_kafka(),
            client_id=f"{settings.consumer_group}-dead-letter-check",
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",  # `since` deleted by retention: from the first
            **kafka_python_config(settings),
        )
        await consumer.start()
        try:
            tp = TopicPartition(settings.dlq_topic, 0)
            consumer.assign([tp])
            consumer.seek(tp, since)
            deadline = loop.time() + DEAD_LETTER_CHECK_SECONDS
            while await consumer.position(tp) < end:
                if loop.time() > deadline:
                    raise TimeoutError(f"reading {settings.dlq_topic} from offset {since}")
                polled = await consumer.getmany(tp, timeout_ms=500, max_records=1000)
                for record in polled.get(tp, []):
                    for name, value in record.headers or ():
                        if name == "tthc-source" and value.decode(errors="replace") in wanted:
                            found.add(value.decode())
        finally:
            await consumer.stop()
        return found

    async def claim(letters: Sequence[tuple[Decided, str]]) -> dict[str, Any]:
        """Take the claims of dead letters (expected: "" for a new claim, or the value
        last seen): record_progress.lua's answer."""
        return await store().record(
            {},
            {},
            {
                "owner": owner,
                "mark": await dead_letter_topic_end(),
                "claim": [[item.source, item.offset, seen] for item, seen in letters],
            },
        )

    async def send_dead_letters(
        letters: Sequence[tuple[Decided, Rejection]], claims: Mapping[str, str], now: int
    ) -> None:
        """Send each dead letter that no attempt has sent: its claim just taken, or a
        claim whose send cannot have happened (checked in the topic)."""
        to_send: list[tuple[Decided, Rejection]] = []
        to_check: list[tuple[Decided, Rejection, str, Claim]] = []
        for item, rejection in letters:
            status = claims[item.where]
            if status == "done":
                continue  # sent and recorded by an earlier delivery
            if status == "ok":
                to_send.append((item, rejection))
                continue
            held = Claim.parse(status)
            if held.owner == owner and item.where in sent:
                continue  # this process sent it; only the batch's record failed
            to_check.append((item, rejection, status, held))
        if to_check:
            # Sent by a worker that died (or by this one, then failed) before the record?
            since = min(held.mark for _, _, _, held in to_check)
            found = await found_in_dead_letter_topic(since, {i.where for i, *_ in to_check})
            again: list[tuple[Decided, Rejection, str]] = []
            for item, rejection, status, held in to_check:
                if item.where in found:
                    sent.add(item.where)
                elif held.owner != owner and now - held.at_ms < DEAD_LETTER_LEASE_MS:
                    raise ClaimHeld(f"dead letter {item.where} claimed by another worker")
                else:
                    again.append((item, rejection, status))
            if again:
                taken = await claim([(item, status) for item, _, status in again])
                for item, rejection, _ in again:
                    if taken["claims"][item.where] == "done":
                        continue
                    if taken["claims"][item.where] != "ok":
                        raise ClaimHeld(f"dead letter {item.where} claimed meanwhile")
                    to_send.append((item, rejection))
        for item, rejection in to_send:
            await dead_letter(item.message, rejection)
            sent.add(item.where)

    async def handle(items: list[Decided]) -> None:
        """Apply one batch completely (dead letters included), or raise to retry it all.

        1. Judge (record_progress.lua): which events are duplicates, decided once and kept
           until the batch is recorded; the partitions' progress; the claims of the
           dead letters. 2. Send the dead letters no attempt has sent. 3. Write the
           events beyond the recorded progress. 4. Settle: progress, statistics (of the
           messages beyond the recorded progress only) and the release of the claims,
           in one call. A crash anywhere leaves a state the next attempt completes.
        """
        rejected = [(i, i.rejection) for i in items if i.rejection is not None]
        request: dict[str, Any] = {"judge": judge_request(items)}
        if rejected:
            request.update(
                owner=owner,
                mark=await dead_letter_topic_end(),
                claim=[[item.source, item.offset, ""] for item, _ in rejected],
            )
        begun = await store().record({}, {}, request)
        await send_dead_letters(rejected, begun["claims"], begun["now"])
        progress: dict[str, int] = begun["progress"]
        valid: dict[str, list[tuple[DossierEvent, Decided]]] = defaultdict(list)
        for item in items:
            # Below the recorded progress: written, counted and settled already.
            if item.event is not None and item.offset >= progress.get(item.source, 0):
                valid[item.event.dossier_id].append((item.event, item))
        letters = [item for item, _ in rejected]
        conflicts = 0
        while valid:
            events = [Incoming(event) for group in valid.values() for event, _ in group]
            try:
                result = await store().apply(events)
            except ProcessingError as error:
                # Only that dossier's events go aside; the rest of the batch is retried.
                log.exception("the rules failed on dossier %s", error.dossier_id)
                reason = f"processing error: {error.__cause__.__class__.__name__}"
                failed = [
                    (item, Rejection(reason, event.event_id, None))
                    for event, item in valid.pop(error.dossier_id)
                ]
                taken = await claim([(item, "") for item, _ in failed])
                await send_dead_letters(failed, taken["claims"], taken["now"])
                letters.extend(item for item, _ in failed)
                continue
            for dossier_id, event_id, why in result.refused:
                log.info("refused event %s of dossier %s: %s", event_id, dossier_id, why)
            written = time.time()
            for group in valid.values():
                for event, item in group:
                    worker_metrics.LAG.labels("occurred").observe(
                        max(0.0, written - event.occurred_at.timestamp())
                    )
                    if item.message.timestamp:
                        worker_metrics.LAG.labels("arrival").observe(
                            max(0.0, written - item.message.timestamp)
                        )
            worker_metrics.EVENTS.labels("applied").inc(result.applied)
            worker_metrics.EVENTS.labels("refused").inc(len(result.refused))
            conflicts = result.conflicts
            break
        # Progress last: `publish --wait` must not see the end before the writes.
        offsets = next_offsets(items)
        settle: dict[str, dict[str, Any]] = {
            source: {"next": offset, "letters": []} for source, offset in offsets.items()
        }
        for item in letters:
            settle[item.source]["letters"].append(item.offset)
        done = await store().record(
            {}, {}, {"settle": settle, "once": {"batches": 1, "conflicts": conflicts}}
        )
        sent.difference_update(item.where for item in letters)
        counted: dict[str, int] = done["counted"]
        worker_metrics.EVENTS.labels("duplicate").inc(counted.get("duplicates", 0))
        worker_metrics.EVENTS.labels("dead_letter").inc(counted.get("dead_letters", 0))
        worker_metrics.BATCHES.inc(counted.get("batches", 0))
        for tp in {item.message.tp for item in items}:
            highwater = app.consumer.highwater(tp)
            if highwater is not None:
                lag = max(0, highwater - offsets[f"{tp.topic}:{tp.partition}"])
                worker_metrics.CONSUMER_LAG.labels(str(tp.partition)).set(lag)

    async def handle_until_done(batch: Batch) -> None:
        delay = 0.5
        items: list[Decided] | None = None
        while True:
            try:
                if items is None:
                    # Once: every attempt below sends and counts the same dead letters.
                    items = decide(batch, lambda raw: decode(raw, engine))
                await handle(items)
                return
            except Exception as error:
                log.warning(
                    "cannot apply a batch of %d events yet (%s); retrying in %.1f s",
                    len(batch),
                    _describe_failure(error),
                    delay,
                )
                # Wakes early when the worker stops: Faust waits for the agent, and a
                # worker told to stop while Redis is down must not hang on its retries.
                await app.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF)
            if app.should_stop:
                # Faust's shutdown waits for every delivered event to be acked, and these
                # cannot be applied (Redis is unreachable): it would hang until killed.
                # Leave as a kill would: nothing acked or committed, so the batch is
                # redelivered to whoever consumes next (the fault suite's SIGKILL case).
                log.error(
                    "stopping while a batch of %d events cannot be applied: exiting "
                    "without committing; the events will be redelivered",
                    len(batch),
                )
                logging.shutdown()
                os._exit(EXIT_STOPPED_UNAPPLIED)

    @app.agent(source, concurrency=1)
    async def apply_events(stream: faust.StreamT[bytes]) -> None:
        await run_batches(
            stream,
            handle_until_done,
            max_size=settings.batch_size,
            max_wait=settings.batch_wait_ms / 1000,
        )

    # One worker freezes (the leader); the freeze's own transaction makes a second,
    # concurrent automatic freeze of a period a no-op anyway (store/snapshots.py).
    # faust hides timer() from type checkers (@no_type_check).
    @app.timer(  # type: ignore[untyped-decorator]
        interval=settings.snapshot_check_seconds, on_leader=True
    )
    async def freeze_ended_periods() -> None:
        grace = timedelta(days=settings.snapshot_grace_days)
        done = await periodic("automatic freeze", snapshots().freeze_due(grace))
        if done is None:
            return
        for result in done:
            log.info("froze period %s: versions %s", result.period, result.versions)

    # Compaction of closed dossiers and pruning by age (docs/redis-layout.md,
    # "Retention"): the leader, like the freeze; every step is atomic per dossier or key
    # and guarded by the dossier's version, so a second runner would only find less to do.
    @app.timer(  # type: ignore[untyped-decorator]
        interval=settings.retention_check_seconds, on_leader=True
    )
    async def compact_and_prune() -> None:
        result = await periodic("retention", retention().run())
        if result is None:
            return
        if result.compacted or result.day_buckets or result.adjustments or result.eid_conflicts:
            log.info(
                "retention: compacted %d dossiers (%d raced), deleted %d day buckets, "
                "%d adjustment lists, %d event-id conflict entries",
                result.compacted,
                result.raced,
                result.day_buckets,
                result.adjustments,
                result.eid_conflicts,
            )

    # Every worker sweeps (not only the leader): the claim is atomic in Redis, so an
    # alert fires once however many sweep, and a lone survivor keeps firing on time.
    backlog: dict[str, Any] = {}

    async def backlog_applied() -> bool:
        """True once the events waiting in the topic when this worker started are applied.

        A worker that was down must not fire an alert that an event published meanwhile
        (a late 'resolved', say) cancels: it fires only after the backlog is in Redis.
        """
        if backlog.get("done"):
            return True
        if "targets" not in backlog:
            loop = asyncio.get_running_loop()
            backlog["targets"] = await loop.run_in_executor(
                None,
                functools.partial(
                    end_offsets,
                    settings.require_kafka(),
                    settings.topic,
                    security=kafka_python_config(settings),
                ),
            )
        progress = await store().read_progress()
        backlog["done"] = all(
            progress.get(f"{settings.topic}:{partition}", 0) >= end
            for partition, end in backlog["targets"].items()
        )
        return bool(backlog["done"])

    @app.timer(interval=settings.alert_sweep_seconds)  # type: ignore[untyped-decorator]
    async def sweep_alerts() -> None:
        if not await periodic("alert sweep", backlog_applied()):
            return
        result = await periodic("alert sweep", sweeper().tick())
        if result is None:
            return
        if result.claimed:
            log.info("fired %d alerts; delivered %s", result.claimed, result.delivered)

    return app


def _describe_failure(error: Exception) -> str:
    """The error's class, and Redis' own words for a refused command: they name keys and
    rules (e.g. WRONGTYPE for a namespace written in another state format, which needs
    `tthc-monitor rebuild` into a fresh namespace), never event payloads."""
    if isinstance(error, RedisResponseError | ClaimHeld):
        return f"{type(error).__name__}: {str(error)[:300]}"
    return type(error).__name__
