"""Decode: raw bytes to an event, or a rejection naming the event and field."""

from __future__ import annotations

from typing import Any

from tthc_monitor.core.engine import Engine
from tthc_monitor.ingest import Rejection, decode
from tthc_monitor.pipeline.message import Decoded, Raw
from tthc_monitor.pipeline.step import Forward, Step


def decode_raw(raw: Raw, engine: Engine) -> Decoded:
    outcome = decode(raw.value, engine)
    if isinstance(outcome, Rejection):
        return Decoded(raw, None, outcome)
    return Decoded(raw, outcome, None)


class Decode(Forward[Raw]):
    """Decoding is pure: done once per message, before any attempt to apply it, so the
    attempts that follow a failure (Redis down) reuse it."""

    def __init__(self, engine: Engine, next_step: Step[Any]) -> None:
        super().__init__(next_step)
        self.engine = engine

    async def submit(self, message: Raw) -> None:
        await self.next_step.submit(decode_raw(message, self.engine))
