"""Redelivery and arrival order: duplicates and shuffled dossiers change nothing."""

from __future__ import annotations

import json
import random
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.faults.events import Lines, dossier_of, produce, subset
from tests.faults.reference import References, assert_same_state
from tests.faults.suite import record
from tests.faults.workers import wait_applied
from tests.integration.conftest import Env, Services

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]


def redelivered(lines: Lines, rng: random.Random) -> Lines:
    """Every event twice, a random 10% five times; copies come after the original, at a
    random later point of the stream (as a producer's retries or a replayed batch do)."""
    placed: list[tuple[float, int, bytes]] = []
    for index, line in enumerate(lines):
        copies = 5 if rng.random() < 0.10 else 2
        placed.append((index, 0, line))
        for copy in range(1, copies):
            placed.append((index + rng.uniform(0, len(lines) / 4), copy, line))
    placed.sort(key=lambda item: (item[0], item[1]))
    return [line for _, _, line in placed]


def shuffled_within_dossiers(lines: Lines, rng: random.Random) -> Lines:
    """The stream's interleaving of dossiers kept, each dossier's own order shuffled."""
    slots: dict[str, list[int]] = defaultdict(list)
    for index, line in enumerate(lines):
        slots[dossier_of(line)].append(index)
    out: list[bytes] = list(lines)
    for positions in slots.values():
        events = [lines[i] for i in positions]
        rng.shuffle(events)
        for position, event in zip(positions, events, strict=True):
            out[position] = event
    return out


def resolved_before_received(lines: Lines) -> int:
    seen_received: set[str] = set()
    early = 0
    for line in lines:
        event = json.loads(line)
        if event["type"] == "received":
            seen_received.add(event["dossier_id"])
        elif event["type"] == "resolved" and event["dossier_id"] not in seen_received:
            early += 1
    return early


@pytest.mark.parametrize("fault", ["duplicates", "shuffled"])
def test_redelivery_and_order_change_nothing(
    fault: str,
    month_lines: Lines,
    references: References,
    services: Services,
    make_env: Callable[..., Env],
    tmp_path: Path,
) -> None:
    clean = subset(month_lines, 12, salt=1)
    reference, reference_stats = references.of(clean)
    rng = random.Random(7)
    if fault == "duplicates":
        stream = redelivered(clean, rng)
        assert len(stream) >= 2 * len(clean)
    else:
        stream = shuffled_within_dossiers(clean, rng)
        assert sorted(stream) == sorted(clean)
        assert resolved_before_received(stream) > 100, "the shuffle must put results first"
    env = make_env(services)
    started = time.monotonic()
    produce(env.services.kafka, env.topic, stream)
    env.start_worker(tmp_path)
    wait_applied(env)
    seconds = time.monotonic() - started
    stats = env.stats()
    # Exactly once: every distinct event written once, every copy recognised.
    assert stats["applied"] == reference_stats["applied"] == len(clean)
    assert stats.get("duplicates", 0) == len(stream) - len(clean)
    assert_same_state(env, reference)
    env.check_workers()
    record(
        fault,
        events=len(clean),
        delivered=len(stream),
        resolved_before_received=resolved_before_received(stream),
        seconds=round(seconds, 1),
    )
