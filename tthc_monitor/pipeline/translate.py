"""The change-data-capture translator on the pipeline's steps (docs/cdc.md).

    Raw ─▶ DecodeEnvelope ─▶ Translate ─▶ Batch ─▶ Retry ─▶ Begin ─▶ DeadLetters
        ─▶ Publish ─▶ Commit

A Debezium message is decoded and translated once (pure: ``tthc_monitor/cdc``), before
any attempt; a batch's attempt sends its dead letters (the worker's ``DeadLetters`` step
and sink envelope), then publishes its events and waits for the broker's acks; only then
does ``Commit`` ack the messages. A failed send is the broker's fault, not the
message's: the whole batch is attempted again by ``Retry`` (its events carry the same
ids, so a second copy is a duplicate the store ignores).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tthc_monitor.cdc.dead_letter import rejection
from tthc_monitor.cdc.mapping import OneStopMapping
from tthc_monitor.cdc.translate import Translation, Unmapped, translate
from tthc_monitor.pipeline.batching import Batch
from tthc_monitor.pipeline.dead_letters import DeadLetters, DeadLetterSink
from tthc_monitor.pipeline.message import Decoded, Raw, Work
from tthc_monitor.pipeline.progress import Begin, Commit
from tthc_monitor.pipeline.publish import Publish, Send
from tthc_monitor.pipeline.retry import Retry, always
from tthc_monitor.pipeline.step import Forward, Step

NOT_JSON = object()
"""The envelope of a message whose bytes are not JSON."""


@dataclass(frozen=True)
class Envelope:
    """A Debezium message decoded: its envelope (None for a tombstone, ``NOT_JSON``) and
    the mapped table its topic names (None: no table of the mapping)."""

    raw: Raw
    envelope: object
    table: str | None


@dataclass(frozen=True)
class Translated(Decoded):
    """A row change translated: the events it means, in sequence order, and, when some
    rule could not be applied, the rejection that makes it a dead letter (a change can be
    both: its other rules still give their events). ``event`` stays None: the events are
    published as the contract's JSON, not applied here."""

    events: tuple[dict[str, Any], ...] = ()


def decode_envelope(raw: Raw, mapping: OneStopMapping) -> Envelope:
    table = mapping.table_of_topic(raw.position.topic)
    if raw.value is None:
        return Envelope(raw, None, table)
    try:
        return Envelope(raw, json.loads(raw.value), table)
    except (ValueError, UnicodeDecodeError):
        return Envelope(raw, NOT_JSON, table)


def translate_envelope(message: Envelope, mapping: OneStopMapping) -> Translated:
    """What one decoded message means; a tombstone (Debezium's after a delete) means
    nothing and passes on, to be acked."""
    if message.envelope is None:
        return Translated(message.raw, None, None)
    if message.envelope is NOT_JSON:
        translation = Translation(unmapped=[Unmapped("message is not JSON", message.table)])
    else:
        try:
            translation = translate(message.envelope, message.table, mapping)
        except Exception as error:
            # The translation is pure: a failure on one message fails on every delivery
            # of it, so it is that message's dead letter, never a stopped stream.
            translation = Translation(
                unmapped=[
                    Unmapped(f"the translation failed ({type(error).__name__})", message.table)
                ]
            )
    return Translated(
        message.raw,
        None,
        rejection(translation.unmapped) if translation.unmapped else None,
        tuple(translation.events),
    )


class DecodeEnvelope(Forward[Raw]):
    def __init__(self, mapping: OneStopMapping, next_step: Step[Any]) -> None:
        super().__init__(next_step)
        self.mapping = mapping

    async def submit(self, message: Raw) -> None:
        await self.next_step.submit(decode_envelope(message, self.mapping))


class Translate(Forward[Envelope]):
    """Once per message, before any attempt: the attempts after a failed send reuse it."""

    def __init__(self, mapping: OneStopMapping, next_step: Step[Any]) -> None:
        super().__init__(next_step)
        self.mapping = mapping

    async def submit(self, message: Envelope) -> None:
        await self.next_step.submit(translate_envelope(message, self.mapping))


class TranslationLedger:
    """``Begin``'s choice for the translator: the events of every change are published
    and every rejection is a dead letter. Nothing to record beyond the acks: the
    translator's progress is its consumer group's offsets."""

    async def begin(self, work: Work) -> None:
        work.fresh = [i for i in work.items if isinstance(i, Translated) and i.events]
        work.letters = [i for i in work.items if i.rejection is not None]

    async def record(self, work: Work) -> None:
        return None


def build_translator(
    *,
    mapping: OneStopMapping,
    sink: DeadLetterSink,
    send: Send,
    done: Callable[[Work], Awaitable[None] | None],
    max_size: int,
    max_wait: float | None = None,
    retry_on: Callable[[Exception], bool] = always,
    sleep: Callable[[float], Awaitable[Any]] | None = None,
    should_stop: Callable[[], bool] | None = None,
    on_stop: Callable[[Sequence[Decoded]], None] | None = None,
    first_delay: float | None = None,
) -> Step[Raw]:
    """The translator's chain, raw Debezium messages in. ``send`` publishes one event
    (key, value) and returns what resolves on the broker's ack; ``done`` acks a batch."""
    attempt = Begin(TranslationLedger(), DeadLetters(sink, Publish(send, Commit(done))))
    retry = Retry(
        attempt,
        retry_on=retry_on,
        sleep=sleep,
        should_stop=should_stop,
        on_stop=on_stop,
        first_delay=first_delay,
        what="publish the translation of a batch of {} row changes",
    )
    batch = Batch(retry, max_size=max_size, max_wait=max_wait)
    return DecodeEnvelope(mapping, Translate(mapping, batch))
