"""Retry: the one error policy for what is not the message's fault.

A failure that is not the rules' own (Redis down or refusing a key, a version conflict
that did not settle, the broker away, a dead-letter claim held by another worker) says
nothing about the batch: it is attempted again, whole, with backoff, for as long as the
failure lasts. The input stalls there (consumer lag shows it) instead of losing events,
and nothing is recorded as done before the state is written. A batch attempted again
starts from its decoded messages (``Work``), so every step computes afresh; the steps'
writes are idempotent and the dead letters are sent once (their sinks see to it).
The message's own faults never reach this step: invalid input and a ``ProcessingError``
become dead letters (``DeadLetters``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from redis.exceptions import AuthenticationError, AuthorizationError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError as RedisResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from tthc_monitor.pipeline.message import Decoded, Work
from tthc_monitor.pipeline.step import Forward, Step
from tthc_monitor.store.redis_store import StoreBusy

log = logging.getLogger("tthc_monitor.pipeline")

FIRST_DELAY = 0.5
MAX_BACKOFF = 30.0


def transient(error: Exception) -> bool:
    """Whether waiting can cure ``error`` by itself: an outage (Redis or the broker
    unreachable, a timeout) or version conflicts that did not settle. Refused
    credentials or permissions, a key of the wrong type, a bug: an operator must act."""
    if isinstance(error, AuthenticationError | AuthorizationError):
        return False
    return isinstance(
        error,
        StoreBusy | RedisConnectionError | RedisTimeoutError | TimeoutError | ConnectionError,
    ) or bool(getattr(error, "transient", False))


def always(error: Exception) -> bool:
    """The worker's choice: every failure is retried, the operator's fixes included (a
    refused key repaired, a password restored): a service never gives up a batch."""
    return True


def describe_failure(error: BaseException) -> str:
    """The error's class, and for a refused Redis command (or any failure that explains
    itself with ``explains = True``) its own words: they name keys and rules (e.g.
    WRONGTYPE for a namespace written in another state format), never event payloads."""
    if isinstance(error, RedisResponseError) or getattr(error, "explains", False):
        return f"{type(error).__name__}: {str(error)[:300]}"
    return type(error).__name__


class Retry(Forward[Sequence[Decoded]]):
    """Hands each batch on as a fresh ``Work`` until an attempt succeeds.

    ``retry_on`` chooses the failures worth waiting for (``transient`` for a command,
    which reports the others and ends; ``always`` for the worker).

    ``should_stop`` is asked after each failed attempt; when it says so, ``on_stop`` is
    called with the batch (the worker leaves without committing: redelivery applies it).
    ``sleep`` may wake early when the process stops (Faust's ``app.sleep``).
    """

    def __init__(
        self,
        next_step: Step[Any],
        *,
        retry_on: Callable[[Exception], bool] | None = None,
        sleep: Callable[[float], Awaitable[Any]] | None = None,
        should_stop: Callable[[], bool] | None = None,
        on_stop: Callable[[Sequence[Decoded]], None] | None = None,
        first_delay: float | None = None,
        max_delay: float = MAX_BACKOFF,
        what: str = "apply a batch of {} events",
    ) -> None:
        # None: the default (``transient``, ``asyncio.sleep``, never stop, FIRST_DELAY),
        # so the pipeline's builders pass their options through as they get them.
        super().__init__(next_step)
        self.retry_on = retry_on or transient
        self.sleep = sleep or asyncio.sleep
        self.should_stop = should_stop or (lambda: False)
        self.on_stop = on_stop
        self.first_delay = FIRST_DELAY if first_delay is None else first_delay
        self.max_delay = max_delay
        self.what = what
        """The retry's log line: "cannot {what} yet", ``{}`` the batch's size."""
        self.failures = 0
        """Failed attempts so far (all batches)."""

    async def submit(self, message: Sequence[Decoded]) -> None:
        delay = self.first_delay
        while True:
            try:
                await self.next_step.submit(Work(list(message)))
                return
            except Exception as error:
                if not self.retry_on(error):
                    raise
                self.failures += 1
                log.warning(
                    "cannot %s yet (%s); retrying in %.1f s",
                    self.what.format(len(message)),
                    describe_failure(error),
                    delay,
                )
                await self.sleep(delay)
                delay = min(delay * 2, self.max_delay)
            if self.should_stop() and self.on_stop is not None:
                self.on_stop(message)
