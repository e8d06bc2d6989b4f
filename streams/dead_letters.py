"""The worker's dead-letter sink: the dead-letter topic, each letter sent once.

Once however often its batch is attempted or delivered, and whichever worker gets it:
before a send, the letter's claim is taken in Redis (record_progress.lua's ``claim``),
and a claim whose send may have happened (taken by a worker that died, or by this one
before a failure) is looked for in the dead-letter topic before any second send
(docs/faults.md, "Dead letters and statistics, once"). The claims are released when the
batch is recorded (``streams/ledger.py``).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from tthc_monitor.config import Settings
from tthc_monitor.connections import kafka_python_config
from tthc_monitor.ingest import Rejection
from tthc_monitor.kafka_admin import end_offsets
from tthc_monitor.pipeline import Decoded
from tthc_monitor.store.redis_store import DossierStore

DEAD_LETTER_LEASE_MS = 60_000
"""How long a dead letter claimed by another worker, and not found in the dead-letter
topic, is left to it (its send may still be under way) before this one sends it."""
DEAD_LETTER_CHECK_SECONDS = 120.0
"""At most this long to read the dead-letter topic when checking claims."""

Send = Callable[[bytes | None, bytes, dict[str, bytes]], Awaitable[int]]
"""Sends one message to the dead-letter topic and returns its offset once acked."""


class ClaimHeld(Exception):
    """Another worker holds the claim of a dead letter of the batch: retry later."""

    explains = True  # its message names the letter's position, nothing of its payload
    transient = True  # the other worker sends it, or its lease runs out


@dataclass(frozen=True)
class Claim:
    """A dead letter some attempt took to send: record_progress.lua's ``claim|`` value."""

    owner: str
    """The worker process (a random id per process)."""
    at_ms: int
    """Redis time of the claim."""
    mark: int
    """The dead-letter topic's end offset before the send: a check for it starts there."""

    @classmethod
    def parse(cls, value: str) -> Claim:
        owner, at_ms, mark = value.rsplit("|", 2)
        return cls(owner, int(at_ms), int(mark))


def dead_letter_message(
    item: Decoded, rejection: Rejection, payload: str
) -> tuple[bytes | None, bytes, dict[str, bytes]]:
    """Key, value and headers of the dead letter of ``item``."""
    raw = item.raw
    original = raw.value or b""
    digest = hashlib.sha256(original).hexdigest()
    position = item.position
    headers = {
        "tthc-reason": rejection.reason.encode("utf-8"),
        "tthc-field": (rejection.field or "").encode("utf-8"),
        "tthc-event-id": (rejection.event_id or "").encode("utf-8"),
        "tthc-source": item.where.encode(),
        "tthc-sha256": digest.encode(),
        "tthc-payload": payload.encode(),
    }
    if payload == "copy":
        return raw.key, original, headers
    # A refused message may carry personal data (an unknown citizen_name field): keep
    # none of its bytes, key included, only where to find it while the source topic
    # retains it, and a hash to check that it is the same message.
    value = json.dumps(
        {
            "reason": rejection.reason,
            "field": rejection.field,
            "event_id": rejection.event_id,
            "topic": position.topic,
            "partition": position.partition,
            "offset": position.offset,
            "sha256": digest,
            "size": len(original),
        },
        ensure_ascii=False,
    ).encode("utf-8")
    return None, value, headers


class KafkaDeadLetters:
    """The pipeline's dead-letter sink in the worker."""

    def __init__(self, settings: Settings, store: Callable[[], DossierStore], send: Send) -> None:
        self.settings = settings
        self.store = store
        self.send_message = send
        self.owner = uuid.uuid4().hex
        """This process, in the claims of the dead letters it sends."""
        self.sent: set[str] = set()
        """Dead letters (``tthc-source``) this process sent whose batch is not recorded."""
        self.end: int | None = None
        """A lower bound of the dead-letter topic's end offset (the claims' mark)."""

    async def send(self, letters: Sequence[Decoded]) -> Sequence[Decoded]:
        taken = await self.claim([(item, "") for item in letters])
        return await self.send_unsent(letters, taken["claims"], taken["now"])

    def recorded(self, letters: Iterable[Decoded]) -> None:
        """The batch of ``letters`` is recorded: their claims are released."""
        self.sent.difference_update(item.where for item in letters)

    async def claim(self, letters: Sequence[tuple[Decoded, str]]) -> dict[str, Any]:
        """Take the claims of dead letters (expected: "" for a new claim, or the value
        last seen): record_progress.lua's answer."""
        return await self.store().record(
            {},
            {},
            {
                "owner": self.owner,
                "mark": await self.topic_end(),
                "claim": [[item.source, item.offset, seen] for item, seen in letters],
            },
        )

    async def send_unsent(
        self, letters: Sequence[Decoded], claims: dict[str, str], now: int
    ) -> list[Decoded]:
        """Send each dead letter that no attempt has sent: its claim just taken, or a
        claim whose send cannot have happened (checked in the topic)."""
        to_send: list[Decoded] = []
        to_check: list[tuple[Decoded, str, Claim]] = []
        for item in letters:
            status = claims[item.where]
            if status == "done":
                continue  # sent and recorded by an earlier delivery
            if status == "ok":
                to_send.append(item)
                continue
            held = Claim.parse(status)
            if held.owner == self.owner and item.where in self.sent:
                continue  # this process sent it; only the batch's record failed
            to_check.append((item, status, held))
        if to_check:
            to_send.extend(await self.recheck(to_check, now))
        for item in to_send:
            await self.deliver(item)
            self.sent.add(item.where)
        return to_send

    async def recheck(
        self, to_check: Sequence[tuple[Decoded, str, Claim]], now: int
    ) -> list[Decoded]:
        """Claims held by an attempt that may have sent: sent by a worker that died (or
        by this one, then failed) before the record? Those not in the topic are taken
        over once their lease ran out."""
        since = min(held.mark for _, _, held in to_check)
        found = await self.found_in_topic(since, {item.where for item, _, _ in to_check})
        again: list[tuple[Decoded, str]] = []
        for item, status, held in to_check:
            if item.where in found:
                self.sent.add(item.where)
            elif held.owner != self.owner and now - held.at_ms < DEAD_LETTER_LEASE_MS:
                raise ClaimHeld(f"dead letter {item.where} claimed by another worker")
            else:
                again.append((item, status))
        if not again:
            return []
        taken = await self.claim(again)
        to_send: list[Decoded] = []
        for item, _ in again:
            if taken["claims"][item.where] == "done":
                continue
            if taken["claims"][item.where] != "ok":
                raise ClaimHeld(f"dead letter {item.where} claimed meanwhile")
            to_send.append(item)
        return to_send

    async def deliver(self, item: Decoded) -> None:
        assert item.rejection is not None
        key, value, headers = dead_letter_message(item, item.rejection, self.settings.dlq_payload)
        # Wait for the broker's ack: the original offset is acked after this.
        offset = await self.send_message(key, value, headers)
        self.end = max(self.end or 0, offset + 1)

    async def topic_end(self) -> int:
        if self.end is None:
            ends = await self._end_offsets()
            self.end = max(self.end or 0, ends.get(0, 0))
        return self.end

    async def _end_offsets(self) -> dict[int, int]:
        settings = self.settings
        return await asyncio.get_running_loop().run_in_executor(
            None,
            functools.partial(
                end_offsets,
                settings.require_kafka(),
                settings.dlq_topic,
                security=kafka_python_config(settings),
            ),
        )

    async def found_in_topic(self, since: int, wanted: set[str]) -> set[str]:
        """Which of ``wanted`` (``tthc-source`` values) the dead-letter topic holds at or
        after offset ``since``."""
        settings = self.settings
        end = (await self._end_offsets()).get(0, 0)
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
        loop = asyncio.get_running_loop()
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
