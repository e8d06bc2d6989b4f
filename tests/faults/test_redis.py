"""Redis restarted mid-stream (AOF, fsync always), and Redis lost then rebuilt from Kafka.

Each case runs its own redis-server (PrivateRedis) so the shared one is not disturbed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from streams.app import EXIT_STOPPED_UNAPPLIED
from tests.faults.events import Lines, produce, subset
from tests.faults.reference import References, assert_same_state
from tests.faults.services import PrivateRedis
from tests.faults.suite import full_only, record
from tests.faults.workers import applied, wait_applied, wait_for
from tests.integration.conftest import Env, Services
from tthc_monitor.kafka_admin import end_offsets, topic_config

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

OUTAGE = 3.0  # seconds Redis stays down


def stream_a_third(
    lines: Lines,
    references: References,
    services: Services,
    private_redis: PrivateRedis,
    make_env: Callable[..., Env],
    tmp_path: Path,
) -> tuple[Lines, Env, subprocess.Popen[bytes]]:
    """A worker on the private Redis's env with the first third of the lines applied:
    the moment the Redis faults strike. The rest is published by ``the_rest`` after the
    fault, so the worker surely meets the outage with a batch in hand (publishing it all
    up front raced the worker, which could finish before the fault)."""
    references.start(lines)
    env = make_env(Services(services.kafka, private_redis.url))
    third = len(lines) // 3
    produce(env.services.kafka, env.topic, lines[:third])
    worker = env.start_worker(tmp_path)
    wait_for("a third applied", lambda: applied(env) >= third, env)
    return lines, env, worker


def the_rest(env: Env, lines: Lines) -> None:
    produce(env.services.kafka, env.topic, lines[len(lines) // 3 :])


@pytest.mark.parametrize("stop", ["sigkill", pytest.param("shutdown", marks=full_only)])
def test_redis_restarted_mid_stream(
    stop: str,
    month_lines: Lines,
    references: References,
    services: Services,
    private_redis: PrivateRedis,
    make_env: Callable[..., Env],
    tmp_path: Path,
) -> None:
    lines, env, worker = stream_a_third(
        subset(month_lines, 12, salt=2), references, services, private_redis, make_env, tmp_path
    )
    started = time.monotonic()
    if stop == "sigkill":
        private_redis.kill()
    else:
        private_redis.shutdown()
    the_rest(env, lines)
    time.sleep(OUTAGE)
    private_redis.start()  # same port, same directory: the AOF is read back
    wait_applied(env)
    seconds = time.monotonic() - started
    # The worker lived through it: it retried the batch it could not write.
    assert worker.poll() is None, env.tail()
    log = env.logs[0].read_text(errors="replace")
    assert "cannot apply a batch" in log and "Traceback" not in log
    stats = env.stats()
    reference, _ = references.of(lines)
    assert stats["applied"] == len(lines)
    assert_same_state(env, reference)
    record(
        f"redis-restart-{stop}",
        events=len(lines),
        outage_seconds=OUTAGE,
        seconds_to_exact=round(seconds, 1),
        worker_restarted=False,
    )


def test_redis_lost_then_rebuilt_while_the_worker_runs(
    month_lines: Lines,
    references: References,
    services: Services,
    private_redis: PrivateRedis,
    make_env: Callable[..., Env],
    tmp_path: Path,
) -> None:
    lines = subset(month_lines, 12, salt=3)
    references.start(lines)
    first, second = lines[: len(lines) * 3 // 5], lines[len(lines) * 3 // 5 :]
    # The worker creates the topics: partitions and the retention a rebuild needs.
    env = make_env(Services(services.kafka, private_redis.url), create_topics=False)
    env.start_worker(tmp_path)
    wait_for(
        "the worker's topics",
        lambda: len(end_offsets(env.services.kafka, env.topic)) == 4,
        env,
    )
    assert topic_config(env.services.kafka, env.topic)["retention.ms"] == "-1"
    produce(env.services.kafka, env.topic, first)
    wait_applied(env)

    # Lost entirely: the server dies and comes back with an empty directory.
    private_redis.kill()
    shutil.rmtree(private_redis.directory)
    private_redis.start()
    assert env.redis().dbsize() == 0

    # New events keep coming while the rebuild reads the topic from offset 0.
    def publish_meanwhile() -> None:
        half = len(second) // 2
        produce(env.services.kafka, env.topic, second[:half])
        time.sleep(5)  # the rest after the rebuild took its end offsets
        produce(env.services.kafka, env.topic, second[half:])

    publisher = threading.Thread(target=publish_meanwhile, daemon=True)
    publisher.start()
    summary = tmp_path / "rebuild.json"
    began = time.monotonic()
    env.cli("rebuild", "--json", str(summary))
    rebuild_seconds = time.monotonic() - began
    publisher.join(120)
    wait_applied(env)
    reference, _ = references.of(lines)
    assert_same_state(env, reference)
    figures = json.loads(summary.read_text())
    assert figures["messages"] >= len(first)
    assert env.stats()["applied"] == len(lines), "the worker and the rebuild overlap, once"
    env.check_workers()
    record(
        "redis-lost-rebuild",
        events=len(lines),
        rebuilt_messages=figures["messages"],
        rebuild_seconds=round(rebuild_seconds, 1),
    )


def test_worker_stopped_during_an_outage_exits_and_nothing_is_lost(
    month_lines: Lines,
    references: References,
    services: Services,
    private_redis: PrivateRedis,
    make_env: Callable[..., Env],
    tmp_path: Path,
) -> None:
    """SIGTERM while Redis is down: Faust would wait for the unapplied batch forever."""
    lines, env, worker = stream_a_third(
        subset(month_lines, 12, salt=3), references, services, private_redis, make_env, tmp_path
    )
    private_redis.kill()
    the_rest(env, lines)
    wait_for(
        "the worker retrying",
        lambda: "cannot apply a batch" in env.logs[0].read_text(errors="replace"),
        env,
    )
    asked = time.monotonic()
    worker.terminate()
    status = worker.wait(timeout=20)
    exited_after = time.monotonic() - asked
    env.workers.remove(worker)  # gone on purpose: not a crash for the checks below
    log = env.logs[0].read_text(errors="replace")
    assert status == EXIT_STOPPED_UNAPPLIED, log[-2000:]
    assert "exiting without committing" in log
    private_redis.start()  # the AOF holds every write acknowledged before the outage
    env.start_worker(tmp_path)
    wait_applied(env)
    reference, _ = references.of(lines)
    assert env.stats()["applied"] == len(lines)
    assert_same_state(env, reference)
    record("redis-down-worker-stopped", events=len(lines), exit_seconds=round(exited_after, 2))
