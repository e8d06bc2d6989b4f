"""The Kafka broker restarted mid-stream (a private Apache Kafka, same data directory)."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.faults.events import Lines, produce, subset
from tests.faults.reference import References, assert_same_state
from tests.faults.services import PrivateKafka
from tests.faults.suite import full_only, record
from tests.faults.workers import applied, wait_applied, wait_for
from tests.integration.conftest import Env, Services
from tthc_monitor.kafka_admin import end_offsets

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

OUTAGE = 5.0  # seconds the broker stays down


def broker_answers(bootstrap: str, topic: str) -> bool:
    try:
        return bool(end_offsets(bootstrap, topic))
    except Exception:
        return False


@pytest.mark.parametrize(
    "stop",
    [
        pytest.param(signal.SIGKILL, id="sigkill"),
        pytest.param(signal.SIGTERM, id="sigterm", marks=full_only),
    ],
)
def test_broker_restarted_mid_stream(
    stop: signal.Signals,
    month_lines: Lines,
    references: References,
    private_kafka: PrivateKafka,
    make_env: Callable[..., Env],
    tmp_path: Path,
) -> None:
    lines = subset(month_lines, 12, salt=5)
    references.start(lines)
    first, second = lines[: len(lines) // 2], lines[len(lines) // 2 :]
    redis_url = private_kafka.up()
    env = make_env(Services(private_kafka.bootstrap, redis_url))
    produce(env.services.kafka, env.topic, first)
    worker = env.start_worker(tmp_path)
    wait_for("a quarter applied", lambda: applied(env) >= len(lines) // 4, env, 180)
    started = time.monotonic()
    private_kafka.stop(stop)
    at_stop = applied(env)
    time.sleep(OUTAGE)
    private_kafka.start_again()
    deadline = time.monotonic() + 120
    while not broker_answers(env.services.kafka, env.topic):
        assert time.monotonic() < deadline, "the broker did not come back"
        time.sleep(0.5)
    back = time.monotonic() - started
    # Events published after the restart reach the same worker.
    produce(env.services.kafka, env.topic, second)
    wait_applied(env, timeout=300)
    seconds = time.monotonic() - started
    assert worker.poll() is None, env.tail()
    reference, _ = references.of(lines)
    assert env.stats()["applied"] == len(lines)
    assert_same_state(env, reference)
    record(
        f"kafka-restart-{stop.name.lower()}",
        events=len(lines),
        applied_at_stop=at_stop,
        outage_seconds=OUTAGE,
        broker_back_seconds=round(back, 1),
        seconds_to_exact=round(seconds, 1),
        worker_restarted=False,
    )
