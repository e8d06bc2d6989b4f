"""The Faust application: wiring. One agent on ``dossier-events`` feeds the pipeline
(tthc_monitor/pipeline); timers freeze, prune and sweep alerts.

Offsets never run ahead of the state:

* the agent runs with ``concurrency=1`` (with more, faust-streaming can commit an
  offset past a message still in flight: faust-streaming issue #606);
* it acks events itself, only after Redis has the write and the dead-letter topic has
  the dead letters (``streams/source.py``);
* a Redis outage, or any failure that is not the rules' own, is retried with backoff
  for as long as it lasts (``pipeline/retry.py``): the partition stalls (consumer lag
  shows it) instead of losing events. Only an event the pure rules cannot process goes
  to the dead-letter topic, since retrying a deterministic failure cannot help;
* a message counts once in the statistics, and a dead letter is sent once, however
  often its batch is attempted or delivered (``streams/ledger.py``,
  ``streams/dead_letters.py``; docs/faults.md, "Dead letters and statistics, once").
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from functools import cached_property
from typing import Any

import faust

from streams import timers
from streams.dead_letters import KafkaDeadLetters
from streams.ledger import WorkerLedger
from streams.source import Ack, feed
from streams.transport import use_fetch_wait
from tthc_monitor.alerting.sinks import KafkaSink, WebhookSink
from tthc_monitor.alerting.sweeper import Sink, Sweeper
from tthc_monitor.cdc.mapping import OneStopMapping
from tthc_monitor.config import Settings
from tthc_monitor.connections import faust_credentials, redis_client
from tthc_monitor.pipeline import Decoded, always, build
from tthc_monitor.store.alert_store import AlertStore
from tthc_monitor.store.redis_store import DossierStore
from tthc_monitor.store.retention import Retention, retention_policy
from tthc_monitor.store.snapshots import Clock, SnapshotStore, local_now

log = logging.getLogger("tthc_monitor.worker")

EXIT_STOPPED_UNAPPLIED = 75
"""Exit status (EX_TEMPFAIL) of a worker told to stop while a batch cannot be applied."""


def _raw_topic(app: faust.App, name: str, partitions: int) -> faust.TopicT:
    return app.topic(
        name,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=partitions,
    )


class Stores:
    """The worker's Redis-backed stores, made on first use (inside Faust's loop)."""

    def __init__(self, settings: Settings, clock: Clock, send_alert: KafkaSink) -> None:
        self.settings = settings
        self.clock = clock
        self.alert_sink = send_alert

    @cached_property
    def dossiers(self) -> DossierStore:
        s = self.settings
        return DossierStore(redis_client(s), s.engine, s.namespace, self.clock, s.alert_horizon)

    def store(self) -> DossierStore:
        return self.dossiers

    @cached_property
    def sweeper(self) -> Sweeper:
        s = self.settings
        sinks: list[Sink] = [self.alert_sink]
        if s.alert_webhook_url:
            sinks.append(WebhookSink(s.alert_webhook_url))
        alerts = AlertStore(self.dossiers.redis, s.namespace, [sink.name for sink in sinks])
        return Sweeper(
            alerts,
            sinks,
            self.clock,
            batch=s.alert_batch,
            lease=s.alert_lease_seconds,
            horizon=s.alert_horizon,
        )

    def get_sweeper(self) -> Sweeper:
        return self.sweeper

    @cached_property
    def snapshots(self) -> SnapshotStore:
        s = self.settings
        return SnapshotStore(self.dossiers.redis, s.registry, s.periods, s.namespace, self.clock)

    @cached_property
    def retention(self) -> Retention:
        s = self.settings
        return Retention(
            self.dossiers.redis, s.periods, s.namespace, retention_policy(s), self.clock
        )


def leave_unapplied(batch: Sequence[Decoded]) -> None:
    """Faust's shutdown waits for every delivered event to be acked, and these cannot
    be applied (Redis is unreachable): it would hang until killed. Leave as a kill
    would: nothing acked or committed, so the batch is redelivered to whoever consumes
    next (the fault suite's SIGKILL case)."""
    log.error(
        "stopping while a batch of %d events cannot be applied: exiting without "
        "committing; the events will be redelivered",
        len(batch),
    )
    logging.shutdown()
    os._exit(EXIT_STOPPED_UNAPPLIED)


def create_app(
    settings: Settings, clock: Clock = local_now, cdc_mapping: OneStopMapping | None = None
) -> faust.App:
    """``clock`` tells the automatic freeze (and the adjustment listing) what time it is,
    and which alerts are due. With ``cdc_mapping`` the app also hosts the change-data-
    capture translator's agent (streams/translator.py; docs/cdc.md, "Where the
    translator runs")."""
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
    use_fetch_wait(app, settings.fetch_max_wait_ms)
    source = _raw_topic(app, settings.topic, settings.partitions)
    dead_letter_topic = _raw_topic(app, settings.dlq_topic, 1)
    alerts_out = _raw_topic(app, settings.alerts_topic, settings.partitions)

    async def send_alert(key: bytes, value: bytes) -> Any:
        return await alerts_out.send(key=key, value=value)

    async def send_dead_letter(key: bytes | None, value: bytes, headers: dict[str, bytes]) -> int:
        delivered = await dead_letter_topic.send(key=key, value=value, headers=headers)
        return int((await delivered).offset)

    stores = Stores(settings, clock, KafkaSink(send_alert))
    dead_letters = KafkaDeadLetters(settings, stores.store, send_dead_letter)

    @app.agent(source, concurrency=1)
    async def apply_events(stream: faust.StreamT[bytes]) -> None:
        manual = stream.noack()  # type: ignore[attr-defined]
        pipeline = build(
            engine=settings.engine,
            store=stores.store(),
            ledger=WorkerLedger(stores.store, dead_letters),
            sink=dead_letters,
            after=Ack(manual, lambda tp: app.consumer.highwater(tp)),
            max_size=settings.batch_size,
            max_wait=settings.batch_wait_ms / 1000,
            retry_on=always,
            # Wakes early when the worker stops: Faust waits for the agent, and a worker
            # told to stop while Redis is down must not hang on its retries.
            sleep=app.sleep,
            should_stop=lambda: bool(app.should_stop),
            on_stop=leave_unapplied,
        )
        await feed(manual, pipeline, settings.batch_wait_ms / 1000)

    # One worker freezes (the leader); the freeze's own transaction makes a second,
    # concurrent automatic freeze of a period a no-op anyway (store/snapshots.py).
    # faust hides timer() from type checkers (@no_type_check).
    @app.timer(  # type: ignore[untyped-decorator]
        interval=settings.snapshot_check_seconds, on_leader=True
    )
    async def freeze_ended_periods() -> None:
        await timers.freeze_ended_periods(stores.snapshots, settings.snapshot_grace_days)

    # Compaction of closed dossiers and pruning by age (docs/redis-layout.md,
    # "Retention"): the leader, like the freeze; every step is atomic per dossier or key
    # and guarded by the dossier's version, so a second runner would only find less to do.
    @app.timer(  # type: ignore[untyped-decorator]
        interval=settings.retention_check_seconds, on_leader=True
    )
    async def compact_and_prune() -> None:
        await timers.compact_and_prune(stores.retention)

    if cdc_mapping is not None:
        from streams.translator import add_translator

        add_translator(app, settings, cdc_mapping, on_stop=leave_unapplied)

    backlog = timers.Backlog(settings, stores.store)

    @app.timer(interval=settings.alert_sweep_seconds)  # type: ignore[untyped-decorator]
    async def sweep_alerts() -> None:
        await timers.sweep_alerts(backlog, stores.get_sweeper)

    return app
