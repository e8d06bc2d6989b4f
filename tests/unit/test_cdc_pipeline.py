"""The translator's chain without a broker: Debezium messages in, the events it would
publish, the dead letters it would send (the worker's envelope) and the acks, in order.

The sends are recorded in memory and acked by the test, so it can tell what was acked
before the broker acked; the real broker path is tests/integration/test_cdc.py."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from streams.dead_letters import dead_letter_message
from streams.translator import TopicDeadLetters
from tests.unit.test_cdc_translate import change, dossier, micros
from tthc_monitor.cdc.mapping import load
from tthc_monitor.pipeline import Position, Raw, Step, Work, build_translator
from tthc_monitor.pipeline import translate as translate_module

ROOT = Path(__file__).resolve().parents[2]
MAPPING = load(ROOT / "examples" / "one-stop" / "mapping.toml")
DOSSIERS = "onestop.public.dossier"


class Broker:
    """Sends recorded in order; each send's ack is a future the test resolves (or fails)
    unless ``auto``; ``refuse`` first sends raise as a broker away would."""

    def __init__(self, *, auto: bool = True, refuse: int = 0) -> None:
        self.auto = auto
        self.refuse = refuse
        self.events: list[tuple[bytes, dict[str, Any]]] = []
        self.letters: list[tuple[bytes | None, bytes, dict[str, bytes]]] = []
        self.acks: list[asyncio.Future[int]] = []

    def _ack(self) -> asyncio.Future[int]:
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        if self.auto:
            future.set_result(len(self.acks))
        self.acks.append(future)
        return future

    async def send_event(self, key: bytes, value: bytes) -> asyncio.Future[int]:
        if self.refuse:
            self.refuse -= 1
            raise ConnectionError("broker unreachable")
        self.events.append((key, json.loads(value)))
        return self._ack()

    async def send_letter(
        self, key: bytes | None, value: bytes, headers: dict[str, bytes]
    ) -> asyncio.Future[int]:
        self.letters.append((key, value, headers))
        return self._ack()


class Chain:
    """The translator's chain on a ``Broker``; ``acked`` lists the offsets acked."""

    def __init__(self, broker: Broker, payload: str = "reference") -> None:
        self.broker = broker
        self.acked: list[int] = []
        self.sleeps: list[float] = []
        self.sink = TopicDeadLetters(broker.send_letter, payload)

        async def done(work: Work) -> None:
            self.acked.extend(item.offset for item in work.items)
            self.sink.acked(work.letters)

        async def sleep(seconds: float) -> None:
            self.sleeps.append(seconds)

        self.step: Step[Raw] = build_translator(
            mapping=MAPPING,
            sink=self.sink,
            send=broker.send_event,
            done=done,
            max_size=100,
            sleep=sleep,
        )

    async def run(self, *messages: tuple[str, int, object]) -> None:
        for topic, offset, envelope in messages:
            await self.step.submit(raw(topic, offset, envelope))
        await self.step.join()


def raw(topic: str, offset: int, envelope: object) -> Raw:
    if envelope is None or isinstance(envelope, bytes):
        value = envelope
    else:
        value = json.dumps(envelope).encode()
    return Raw(Position(topic, 0, offset), value, b'{"id":1}')


def several_columns() -> dict[str, Any]:
    before = dossier(supplement_requested_at=micros("2022-04-05T09:00"), status_code="5")
    after = dossier(
        supplement_requested_at=micros("2022-04-05T09:00"),
        supplemented_at=micros("2022-04-06T09:00"),
        extended_due_at=micros("2022-04-20T17:00"),
        extended_at=micros("2022-04-06T09:00"),
        result_digitized_at=micros("2022-04-07T15:00"),
        status_code="10",
        returned_at=micros("2022-04-07T15:00"),
        finished_at=micros("2022-04-07T15:00"),
    )
    return change("u", before, after)


async def test_a_change_of_several_columns_is_published_in_sequence_order() -> None:
    broker = Broker()
    chain = Chain(broker)
    await chain.run((DOSSIERS, 7, change("c", None, dossier())), (DOSSIERS, 8, several_columns()))
    assert [event["type"] for _, event in broker.events] == [
        "received",
        "supplemented",
        "extended",
        "digitized",
        "resolved",
    ]
    # Keyed by dossier id: one dossier's events stay in order in one partition.
    assert {key for key, _ in broker.events} == {b"000.00.18.H50-220401-0001"}
    assert broker.letters == []
    assert chain.acked == [7, 8]


async def test_an_unmappable_row_is_one_dead_letter_and_one_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker = Broker()
    chain = Chain(broker)
    # Codes outside [codes.channel] and [codes.digitization_complete]: two rules of one
    # change fail; the result's digitization still gives its event.
    bad = dossier(
        channel_code="9",
        components_digitized_at=micros("2022-04-04T09:00"),
        digitization_code="9",
        result_digitized_at=micros("2022-04-07T09:00"),
    )
    with caplog.at_level(logging.WARNING, logger="tthc_monitor.pipeline"):
        await chain.run((DOSSIERS, 42, change("c", None, bad)))
    assert [event["type"] for _, event in broker.events] == ["digitized"]
    [(key, value, headers)] = broker.letters
    assert chain.sink.sent == set()  # released once its message is acked
    # The worker's envelope, built by the worker's own function.
    translated = translate_module.translate_envelope(
        translate_module.decode_envelope(raw(DOSSIERS, 42, change("c", None, bad)), MAPPING),
        MAPPING,
    )
    assert translated.rejection is not None
    assert (key, value, headers) == dead_letter_message(
        translated, translated.rejection, "reference"
    )
    assert headers["tthc-source"] == b"onestop.public.dossier:0:42"
    assert headers["tthc-field"] == (
        b"dossier.events[0]:received.channel_code, dossier.events[4]:digitized.digitization_code"
    )
    body = json.loads(value)
    assert (body["topic"], body["partition"], body["offset"]) == (DOSSIERS, 0, 42)
    assert body["reason"] == (
        "dossier.events[0]:received.channel_code: code not in [codes.channel]; "
        "dossier.events[4]:digitized.digitization_code: code not in "
        "[codes.digitization_complete]"
    )
    assert key is None and b"ref-0000001" not in value + b"".join(headers.values())
    lines = [r.getMessage() for r in caplog.records if r.name == "tthc_monitor.pipeline"]
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"dead letter at topic {DOSSIERS} partition 0 offset 42: ")
    assert "[codes.channel]" in lines[0] and "ref-0000001" not in lines[0]
    assert chain.acked == [42]


async def test_the_copy_payload_keeps_the_message() -> None:
    broker = Broker()
    message = change("c", None, dossier(channel_code="9"))
    await Chain(broker, payload="copy").run((DOSSIERS, 3, message))
    [(key, value, headers)] = broker.letters
    assert (key, value) == (b'{"id":1}', json.dumps(message).encode())
    assert headers["tthc-payload"] == b"copy"


async def test_tombstones_pass_garbage_and_unknown_tables_are_dead_letters(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker = Broker()
    chain = Chain(broker)
    row = {
        "id": 1,
        "dossier_code": "D-1",
        "action_code": "transfer",
        "from_unit_code": "a",
        "to_unit_code": "b",
        "step_due_at": None,
        "acted_at": 1_649_000_000_000_000,
    }
    with caplog.at_level(logging.WARNING, logger="tthc_monitor.pipeline"):
        await chain.run(
            (DOSSIERS, 1, None),  # Debezium's tombstone after a delete
            (DOSSIERS, 2, b"\xff{"),
            ("onestop.public.processing_log", 0, change("c", None, row)),
            ("elsewhere.public.processing_log", 0, change("c", None, row)),
        )
    assert [event["type"] for _, event in broker.events] == ["transferred"]
    reasons = [json.loads(value)["reason"] for _, value, _ in broker.letters]
    assert reasons == ["dossier: message is not JSON", "row change: no mapping for this table"]
    assert len(caplog.records) == 2
    assert chain.acked == [1, 2, 0, 0]  # every message, the tombstone too


async def test_a_failing_translation_is_a_dead_letter_not_a_stopped_stream(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(envelope: object, table: str | None, mapping: object) -> Any:
        raise KeyError("a bug")

    monkeypatch.setattr(translate_module, "translate", broken)
    broker = Broker()
    chain = Chain(broker)
    await chain.run((DOSSIERS, 5, change("c", None, dossier())))
    [(_, value, _)] = broker.letters
    assert json.loads(value)["reason"] == "dossier: the translation failed (KeyError)"
    assert chain.acked == [5]


async def test_a_refused_send_is_retried_and_nothing_is_acked_before_the_broker() -> None:
    broker = Broker(auto=False, refuse=2)
    chain = Chain(broker)
    bad = dossier(dossier_code="D-2", channel_code="9")
    running = asyncio.ensure_future(
        chain.run(
            (DOSSIERS, 10, change("c", None, dossier())), (DOSSIERS, 11, change("c", None, bad))
        )
    )
    await until(lambda: len(broker.letters) == 1)
    await settle()
    # The dead letter is sent first and its ack awaited: nothing goes on meanwhile.
    assert broker.events == [] and chain.acked == [] and not running.done()
    broker.acks[0].set_result(0)
    # The broker refuses the event twice: the batch is attempted again with the Retry
    # step's backoff, and the dead letter is not sent again.
    await until(lambda: len(broker.events) == 1)
    await settle()
    assert chain.sleeps == [0.5, 1.0]
    assert len(broker.letters) == 1
    assert chain.acked == [] and not running.done()
    broker.acks[1].set_result(1)
    await asyncio.wait_for(running, 5)
    assert chain.acked == [10, 11]


async def test_a_failed_ack_retries_the_batch_and_the_letters_stay_sent_once() -> None:
    broker = Broker(auto=False)
    chain = Chain(broker)
    bad = dossier(dossier_code="D-2", channel_code="9")
    running = asyncio.ensure_future(
        chain.run(
            (DOSSIERS, 20, change("c", None, dossier())), (DOSSIERS, 21, change("c", None, bad))
        )
    )
    await until(lambda: len(broker.acks) == 1)
    broker.acks[0].set_result(0)  # the dead letter is delivered
    await until(lambda: len(broker.acks) == 2)
    broker.acks[1].set_exception(ConnectionError("leader lost"))  # the event is not
    await until(lambda: len(broker.acks) == 3)
    assert chain.acked == [] and chain.sleeps == [0.5]
    broker.acks[2].set_result(2)
    await asyncio.wait_for(running, 5)
    # The event again, with the same id (a duplicate the store ignores); the letter once.
    first, again = (event["event_id"] for _, event in broker.events)
    assert first == again and len(broker.letters) == 1
    assert chain.acked == [20, 21]


async def until(condition: Callable[[], bool]) -> None:
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("the chain did not get there")


async def settle() -> None:
    """Let the chain run as far as it can."""
    for _ in range(50):
        await asyncio.sleep(0)
