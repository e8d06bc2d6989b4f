"""The step interface, after getsentry/arroyo's processing strategies.

A step receives messages by ``submit``, may hold some back (a batch), hands what it
produced to the next step, and answers ``poll`` (time passed: flush what is due) and
``join`` (the input ended: flush everything). Steps are async: they talk to Redis
and Kafka. A step that cannot finish a message raises from ``submit``; the retry step
decides what happens then.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

TIn = TypeVar("TIn")


class Step(Generic[TIn]):
    async def submit(self, message: TIn) -> None:
        raise NotImplementedError

    async def poll(self) -> None:
        """Time passed: hand on what is due. Default: pass the call on."""

    async def join(self, timeout: float | None = None) -> None:
        """The input ended: hand on everything held, and wait for it to be done."""

    async def close(self) -> None:
        """Release what the step holds (connections, files)."""


class Forward(Step[TIn]):
    """A step with a next one: ``poll``, ``join`` and ``close`` pass down the chain."""

    def __init__(self, next_step: Step[Any]) -> None:
        self.next_step = next_step

    async def poll(self) -> None:
        await self.next_step.poll()

    async def join(self, timeout: float | None = None) -> None:
        await self.next_step.join(timeout)

    async def close(self) -> None:
        await self.next_step.close()
