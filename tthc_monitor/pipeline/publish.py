"""Publish: the translator's events to the worker's topic, acks awaited.

Every event of the batch's changes is sent, keyed by its dossier id (so one dossier's
events keep their order in one partition), then every send's ack is awaited; only then
does the batch go on to ``Commit``, which acks the source messages. A send or an ack
that fails raises, and ``Retry`` attempts the whole batch again: events already
delivered are delivered again with the same ids, which the store counts as duplicates.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from tthc_monitor.pipeline.message import Work
from tthc_monitor.pipeline.step import Forward, Step

Send = Callable[[bytes, bytes], Awaitable[Awaitable[Any]]]
"""Sends one message (key, value); what it returns resolves once the broker acked it."""


def encode(event: dict[str, Any]) -> tuple[bytes, bytes]:
    """Key and value of a contract event as the worker reads them."""
    value = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return str(event["dossier_id"]).encode("utf-8"), value


class Publish(Forward[Work]):
    def __init__(self, send: Send, next_step: Step[Any]) -> None:
        super().__init__(next_step)
        self.send = send

    async def submit(self, message: Work) -> None:
        pending: list[Awaitable[Any]] = []
        for item in message.fresh:
            for event in getattr(item, "events", ()):
                key, value = encode(event)
                pending.append(await self.send(key, value))
        # Sent without waiting one by one (the producer batches them), then every ack.
        for ack in pending:
            await ack
        message.submitted = len(pending)
        message.written_at = time.time()
        await self.next_step.submit(message)
