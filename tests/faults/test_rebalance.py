"""Two workers on 8 partitions, one SIGKILLed, the other takes over; then a third joins."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.faults.events import Lines, produce, subset
from tests.faults.reference import References, assert_same_state
from tests.faults.suite import record
from tests.faults.workers import applied, kill, wait_applied, wait_for
from tests.integration.conftest import Env, Services

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]


def assignment(log: Path, topic: str) -> str | None:
    """The events partitions of the worker's latest assignment, as Faust logs them."""
    text = log.read_text(errors="replace") if log.exists() else ""
    tables = text.split("Setting newly assigned partitions")
    if len(tables) < 2:
        return None
    table = tables[-1].split("for group")[0]
    found = re.search(rf"\| {re.escape(topic)}\s+\| (\{{[^}}]*\}})", table)
    return found.group(1) if found else None


def test_two_workers_one_killed_then_a_third_joins(
    month_lines: Lines,
    references: References,
    services: Services,
    make_env: Callable[..., Env],
    tmp_path: Path,
) -> None:
    lines = subset(month_lines, 8, salt=4)
    references.start(lines)
    first, second, third = (
        lines[: len(lines) * 2 // 5],
        lines[len(lines) * 2 // 5 : len(lines) * 7 // 10],
        lines[len(lines) * 7 // 10 :],
    )
    env = make_env(services, TTHC_PARTITIONS="8")
    a = env.start_worker(tmp_path)
    b = env.start_worker(tmp_path)
    log_a, log_b = env.logs[0], env.logs[1]

    def shared() -> bool:
        # Both hold part of the 8 partitions (the rebalance after the second joined).
        got_a, got_b = assignment(log_a, env.topic), assignment(log_b, env.topic)
        return bool(got_a and got_b and got_a != "{0-7}" and got_b != "{0-7}")

    wait_for("both workers assigned", shared, env)
    produce(env.services.kafka, env.topic, first)
    wait_for("half the first part", lambda: applied(env) >= len(first) // 2, env)
    held_by_b = assignment(log_b, env.topic)
    kill(b)
    killed_at = time.monotonic()
    produce(env.services.kafka, env.topic, second)
    wait_applied(env)
    takeover = time.monotonic() - killed_at
    assert assignment(log_a, env.topic) == "{0-7}", "the survivor holds every partition"
    assert a.poll() is None

    c = env.start_worker(tmp_path)
    log_c = env.logs[2]
    wait_for("the third worker assigned", lambda: assignment(log_c, env.topic) is not None, env)
    produce(env.services.kafka, env.topic, third)
    wait_applied(env)
    assert a.poll() is None and c.poll() is None
    reference, _ = references.of(lines)
    assert env.stats()["applied"] == len(lines)
    assert_same_state(env, reference)
    record(
        "two-workers-kill-one-third-joins",
        events=len(lines),
        partitions=8,
        killed_worker_held=held_by_b,
        takeover_seconds=round(takeover, 1),
        third_worker_got=assignment(log_c, env.topic),
    )
