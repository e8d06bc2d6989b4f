"""The batch step: by size, by age (poll), per partition, everything on join."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tthc_monitor.pipeline import Batch, Decoded, Position, Raw, Step


class Collect(Step[Any]):
    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.joined = 0

    async def submit(self, message: Any) -> None:
        self.batches.append([item.offset for item in message])

    async def join(self, timeout: float | None = None) -> None:
        self.joined += 1


def decoded(count: int, partition: int = 0, start: int = 0) -> list[Decoded]:
    offsets = range(start, start + count)
    return [Decoded(Raw(Position("events", partition, n), b"{}"), None, None) for n in offsets]


async def test_full_batches_go_at_once_and_the_rest_on_join() -> None:
    out = Collect()
    batch = Batch(out, max_size=3)
    for item in decoded(7):
        await batch.submit(item)
    assert out.batches == [[0, 1, 2], [3, 4, 5]]
    await batch.join()
    assert out.batches == [[0, 1, 2], [3, 4, 5], [6]]
    assert out.joined == 1
    await batch.join()  # nothing held: nothing more
    assert len(out.batches) == 3


async def test_poll_hands_on_a_batch_once_it_waited_long_enough(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    out = Collect()
    batch = Batch(out, max_size=100, max_wait=0.5)
    await batch.submit(decoded(1)[0])
    await batch.poll()
    assert out.batches == []
    now[0] += 0.6
    await batch.poll()
    assert out.batches == [[0]]


async def test_per_source_keeps_partitions_apart() -> None:
    out = Collect()
    batch = Batch(out, max_size=4, per_source=True)
    mixed = [*decoded(2, partition=1), *decoded(2, partition=0, start=10)]
    for item in mixed:
        await batch.submit(item)
    # Full at 4 in all: one batch per partition, in partition order.
    assert out.batches == [[10, 11], [0, 1]]
