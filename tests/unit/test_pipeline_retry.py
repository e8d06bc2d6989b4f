"""The retry step: what waiting can cure is attempted again with backoff, afresh."""

from __future__ import annotations

from typing import Any

import pytest
from redis.exceptions import AuthenticationError, ResponseError
from redis.exceptions import ConnectionError as RedisConnectionError

from tthc_monitor.pipeline import Decoded, Position, Raw, Retry, Step, Work, always, transient
from tthc_monitor.store.redis_store import StoreBusy


class Flaky(Step[Work]):
    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.seen: list[Work] = []

    async def submit(self, message: Work) -> None:
        self.seen.append(message)
        message.applied += 1  # a partial change an attempt must not carry over
        if self.errors:
            raise self.errors.pop(0)


def batch() -> list[Decoded]:
    return [Decoded(Raw(Position("events", 0, 5), b"{}"), None, None)]


async def test_transient_failures_are_retried_with_growing_delays() -> None:
    delays: list[float] = []

    async def sleep(seconds: float) -> None:
        delays.append(seconds)

    step = Flaky(StoreBusy("x"), RedisConnectionError("down"), TimeoutError(), StoreBusy("y"))
    retry = Retry(step, sleep=sleep, max_delay=1.5)
    await retry.submit(batch())
    assert delays == [0.5, 1.0, 1.5, 1.5]
    assert len(step.seen) == 5
    # Each attempt starts from the batch's messages, not the last attempt's leftovers.
    assert len({id(work) for work in step.seen}) == 5
    assert all(work.applied == 1 for work in step.seen)


@pytest.mark.parametrize(
    "error", [AuthenticationError("wrong password"), ResponseError("WRONGTYPE"), KeyError("x")]
)
async def test_a_command_stops_on_what_waiting_cannot_cure(error: Exception) -> None:
    assert not transient(error)
    retry = Retry(Flaky(error), sleep=_no_wait)
    with pytest.raises(type(error)):
        await retry.submit(batch())


async def test_the_worker_retries_everything_and_leaves_when_told_to_stop() -> None:
    stopped: list[Any] = []
    retry = Retry(
        Flaky(ResponseError("WRONGTYPE"), ResponseError("WRONGTYPE")),
        retry_on=always,
        sleep=_no_wait,
        should_stop=lambda: len(stopped) == 0,
        on_stop=stopped.append,
    )
    await retry.submit(batch())
    # Told to stop after the first failure (the worker exits there: os._exit); this
    # on_stop returns, so the retries went on until the batch went through.
    assert len(stopped) == 1 and stopped[0] == batch()
    assert retry.failures == 2


async def test_the_retry_line_names_the_failure_not_the_payload(
    caplog: pytest.LogCaptureFixture,
) -> None:
    retry = Retry(Flaky(ResponseError("WRONGTYPE key tthc:d:D1")), retry_on=always, sleep=_no_wait)
    with caplog.at_level("WARNING"):
        await retry.submit(batch())
    assert caplog.messages == [
        "cannot apply a batch of 1 events yet (ResponseError: WRONGTYPE key tthc:d:D1); "
        "retrying in 0.5 s"
    ]


async def _no_wait(seconds: float) -> None:
    return None
