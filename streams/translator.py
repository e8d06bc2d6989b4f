"""The Faust translator: Debezium row changes in, contract events out (docs/cdc.md).

Wiring only. The translator is the pipeline's translator chain
(``tthc_monitor/pipeline/translate.py``: decode, translate with the pure core in
``tthc_monitor/cdc``, batch, retry, dead letters, publish, commit) fed by a Faust agent
on the Debezium topics of the mapped tables, the same way the worker's agent feeds the
worker's chain (``streams/source.py``). Events go to the worker's topic (``TTHC_TOPIC``,
keyed by dossier id); what cannot be mapped goes to the dead-letter topic with the
worker's envelope (``streams/dead_letters.py``). A message is acked only after the
broker acked every event and dead letter it caused, so a crash redelivers it; the
redelivered events carry the same ids and the store ignores them.

``add_translator`` puts the agent in an app: the worker's (``tthc-monitor worker
--cdc-mapping``: one process, one consumer group, two agents) or its own
(``create_translator``, ``tthc-monitor cdc translate``: group ``{group}-cdc``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import faust

from streams.dead_letters import dead_letter_message
from streams.source import feed
from streams.transport import use_fetch_wait
from tthc_monitor.cdc.mapping import OneStopMapping
from tthc_monitor.config import Settings
from tthc_monitor.connections import faust_credentials
from tthc_monitor.pipeline import Decoded, Work, always, build_translator

SendLetter = Callable[[bytes | None, bytes, dict[str, bytes]], Any]
"""Sends one dead letter (key, value, headers); the awaited result resolves on the ack."""


class TopicDeadLetters:
    """The translator's dead-letter sink: the dead-letter topic, the worker's envelope,
    each letter once per process (a retried batch hands the same letters again).

    Unlike the worker's sink it takes no claim in Redis: the translator keeps no progress
    there (its offsets are its consumer group's), and the claims are settled with the
    worker's progress. A translator killed after sending a letter and before its offset
    was committed sends it again when the message is redelivered (docs/cdc.md)."""

    def __init__(self, send: SendLetter, payload: str) -> None:
        self.send_message = send
        self.payload = payload
        self.sent: set[str] = set()
        """Letters (``tthc-source``) sent whose message is not acked yet."""

    async def send(self, letters: Sequence[Decoded]) -> Sequence[Decoded]:
        delivered: list[Decoded] = []
        for item in letters:
            if item.where in self.sent or item.rejection is None:
                continue
            key, value, headers = dead_letter_message(item, item.rejection, self.payload)
            # Wait for the broker's ack: the source message is acked after this.
            await (await self.send_message(key, value, headers))
            self.sent.add(item.where)
            delivered.append(item)
        return delivered

    def acked(self, letters: Iterable[Decoded]) -> None:
        """Their messages are acked: they will not come back to this process."""
        self.sent.difference_update(item.where for item in letters)


def _raw_topic(app: faust.App, *names: str, partitions: int | None = None) -> faust.TopicT:
    return app.topic(
        *names,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=partitions,
    )


def add_translator(
    app: faust.App,
    settings: Settings,
    mapping: OneStopMapping,
    on_stop: Callable[[Sequence[Decoded]], None] | None = None,
) -> None:
    """The translator's agent, in ``app``. ``on_stop``: what to do when the process is
    told to stop while a batch cannot be published (the worker's ``leave_unapplied``)."""
    source = _raw_topic(app, *(mapping.topic(name) for name in mapping.tables))
    events_out = _raw_topic(app, settings.topic, partitions=settings.partitions)
    dead_letter_topic = _raw_topic(app, settings.dlq_topic, partitions=1)

    async def send_event(key: bytes, value: bytes) -> Any:
        return await events_out.send(key=key, value=value)

    async def send_letter(key: bytes | None, value: bytes, headers: dict[str, bytes]) -> Any:
        return await dead_letter_topic.send(key=key, value=value, headers=headers)

    sink = TopicDeadLetters(send_letter, settings.dlq_payload)

    @app.agent(source, concurrency=1, name="translate_changes")
    async def translate_changes(stream: faust.StreamT[bytes]) -> None:
        # Acked by the chain's end only (see streams/source.py for why not Faust's acks).
        manual = stream.noack()  # type: ignore[attr-defined]

        async def done(work: Work) -> None:
            for item in work.items:
                await manual.ack(item.raw.carrier)
            sink.acked(work.letters)

        pipeline = build_translator(
            mapping=mapping,
            sink=sink,
            send=send_event,
            done=done,
            max_size=settings.batch_size,
            max_wait=settings.batch_wait_ms / 1000,
            # A service never gives up a batch: the broker comes back, or an operator
            # fixes what refuses the sends (the worker's choice too).
            retry_on=always,
            sleep=app.sleep,
            should_stop=lambda: bool(app.should_stop),
            on_stop=on_stop,
        )
        await feed(manual, pipeline, settings.batch_wait_ms / 1000)


def create_translator(settings: Settings, mapping: OneStopMapping) -> faust.App:
    """The translator alone, in its own consumer group, apart from the worker, so either
    can be restarted alone."""
    from streams.app import leave_unapplied

    settings.faust_data_dir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        f"{settings.consumer_group}-cdc",
        broker=f"kafka://{settings.require_kafka()}",
        store="memory://",
        datadir=str(settings.faust_data_dir / "cdc"),
        web_enabled=False,
        topic_partitions=1,
        broker_session_timeout=settings.broker_session_timeout,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        broker_credentials=faust_credentials(settings),
    )
    use_fetch_wait(app, settings.fetch_max_wait_ms)
    add_translator(app, settings, mapping, on_stop=leave_unapplied)
    return app
