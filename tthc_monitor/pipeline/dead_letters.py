"""Dead letters: the policy for a message's own faults, written once.

Invalid input (the contract, the reference data) and a ``ProcessingError`` (the rules
failed on the dossier) are the message's fault: retrying cannot help, so each gets one
log line naming what and where (topic/partition/offset or file:line, event id, reason;
never a payload value: it may be personal data) and goes to the dead-letter sink once.
The batch then carries on without it. Sinks:

* the worker: the dead-letter topic, once across redeliveries (``streams/dead_letters.py``);
* ``replay``: a JSON Lines file of references (``FileDeadLetters``) if asked for,
  else the log line only (``LoggedDeadLetters``);
* ``rebuild``: none (``NoDeadLetters``): the worker sent them when they arrived.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from tthc_monitor.pipeline.message import Decoded, Work
from tthc_monitor.pipeline.step import Forward, Step

log = logging.getLogger("tthc_monitor.pipeline")


class DeadLetterSink(Protocol):
    async def send(self, letters: Sequence[Decoded]) -> Sequence[Decoded]:
        """Deliver each letter once (a retried or redelivered batch hands the same letters
        again); returns those delivered by this call."""
        ...


class NoDeadLetters:
    async def send(self, letters: Sequence[Decoded]) -> Sequence[Decoded]:
        """Nothing: they were dead-lettered when they first arrived."""
        return []


class LoggedDeadLetters:
    """No sink beyond the log line: each letter is delivered (named) once."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    async def send(self, letters: Sequence[Decoded]) -> Sequence[Decoded]:
        new = [item for item in letters if item.where not in self.seen]
        self.seen.update(item.where for item in new)
        return new


def describe_letter(item: Decoded) -> str:
    """One line: where, which event, why."""
    rejection = item.rejection
    reason = rejection.describe() if rejection else "no reason"
    return f"dead letter at {item.position.describe()}: {reason}"


class FileDeadLetters:
    """Dead letters as JSON Lines: where each message is (file:line or
    topic/partition/offset), its event id and why. No payload: the source file holds
    it, and a payload may carry personal data."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.written: set[str] = set()
        self.handle: Any = None

    async def send(self, letters: Sequence[Decoded]) -> Sequence[Decoded]:
        sent: list[Decoded] = []
        for item in letters:
            if item.where in self.written:
                continue
            if self.handle is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self.handle = self.path.open("w", encoding="utf-8")
            rejection = item.rejection
            record = {
                "source": item.position.topic,
                "partition": item.position.partition,
                "offset": item.offset,
                "event_id": rejection.event_id if rejection else None,
                "field": rejection.field if rejection else None,
                "reason": rejection.reason if rejection else None,
                "kind": rejection.kind if rejection else None,
            }
            self.handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            self.written.add(item.where)
            sent.append(item)
        if self.handle is not None:
            self.handle.flush()
        return sent

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None


class DeadLetters(Forward[Work]):
    """Sends the batch's dead letters not sent yet by this attempt.

    Placed twice in a chain: before the writes (invalid input: sent, and claimed by the
    worker, even when the writes then fail) and after them (the rules' failures).
    """

    def __init__(self, sink: DeadLetterSink, next_step: Step[Any]) -> None:
        super().__init__(next_step)
        self.sink = sink

    async def submit(self, message: Work) -> None:
        pending = message.letters[message.letters_sent :]
        if pending:
            for item in await self.sink.send(pending):
                log.warning("%s", describe_letter(item))
            message.letters_sent = len(message.letters)
        await self.next_step.submit(message)
