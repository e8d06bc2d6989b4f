"""A key of the wrong type in Redis, met by a batch in the middle of the stream.

Redis does not roll a Lua script back when a command fails midway. Before the write
scripts checked their keys first, a batch that met a counter hash holding a string had
already stored its dossiers' events: the counters missed them for good, since a retry saw
nothing new. Now the write is refused before anything is written, the worker reports
Redis' own message and counts it, retries (a Redis-side problem is not bad input, so
nothing is dead-lettered) without moving past the batch, and once the key is fixed ends
exactly as a clean replay, with every dossier's contribution in the counters. The same
holds for `tthc-monitor rebuild`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import cast

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from tests.faults.events import Lines, produce, subset
from tests.faults.reference import References, assert_same_state, delete_namespace, read_state
from tests.faults.suite import record
from tests.faults.workers import applied, progress_reached, wait_applied, wait_for
from tests.integration.conftest import ROOT, Env, Services
from tthc_monitor.config import Settings
from tthc_monitor.embedded import free_port
from tthc_monitor.store.state import decode_state

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
BATCH = Settings().batch_size


def middle_day(lines: Lines) -> str:
    """The local date of the event 60 % into the stream, first met there (the stream is in
    time order): its day-bucket counter hash is first written by a batch in the middle."""
    at = len(lines) * 3 // 5
    day: str = json.loads(lines[at])["occurred_at"][:10]
    first = next(i for i, line in enumerate(lines) if json.loads(line)["occurred_at"][:10] == day)
    assert len(lines) // 3 < first <= at, "the planted key would not be met mid-stream"
    return day


def unbalanced(redis_url: str, namespace: str) -> dict[str, tuple[int, int]]:
    """Counter fields that differ from the sum of the stored dossiers' contributions
    (``period|unit|metric`` -> (counters, contributions)): a dossier holding events its
    counters lack shows here. Keys that are not hashes (a planted one) are skipped."""
    client = redis.Redis.from_url(redis_url)
    counters: Counter[str] = Counter()
    for key in client.scan_iter(f"{namespace}:p:*", count=1000):
        if client.type(key) != b"hash":
            continue
        period = _text(key).rsplit(":", 1)[1]
        for name, value in client.hgetall(key).items():
            counters[f"{period}|{_text(name)}"] += int(value)
    for name, value in client.hgetall(f"{namespace}:g").items():
        counters[f"all|{_text(name)}"] += int(value)
    summed: Counter[str] = Counter()
    keys = list(client.scan_iter(f"{namespace}:d:*", count=1000))
    for start in range(0, len(keys), 500):
        for raw in client.mget(keys[start : start + 500]):
            summed.update(decode_state(cast(bytes, raw)).contribution)
    client.close()
    names = {k for k, v in counters.items() if v} | {k for k, v in summed.items() if v}
    return {k: (counters[k], summed[k]) for k in sorted(names) if counters[k] != summed[k]}


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def refusals(port: int) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "tthc_worker_store_refusals_total"
        and s.labels == {"script": "apply_batch", "code": "WRONGTYPE"}
    )


def rebuild_into(env: Env, namespace: str) -> subprocess.CompletedProcess[str]:
    """`tthc-monitor rebuild` of the case's topic into another namespace."""
    return subprocess.run(
        [sys.executable, "-m", "tthc_monitor.cli.main", "rebuild"],
        env={**env.vars(), "TTHC_NAMESPACE": namespace},
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )


def test_a_wrong_typed_key_mid_stream_stalls_the_worker_until_fixed_then_exact(
    month_lines: Lines,
    references: References,
    services: Services,
    make_env: Callable[..., Env],
    tmp_path: Path,
) -> None:
    lines = subset(month_lines, 12, salt=4)
    references.start(lines)
    port = free_port()
    env = make_env(services, TTHC_WORKER_METRICS_PORT=str(port))
    client = env.redis()
    planted = f"{env.namespace}:p:d{middle_day(lines)}"
    client.set(planted, "drift")
    produce(env.services.kafka, env.topic, lines)
    worker = env.start_worker(tmp_path)

    # Refused: Redis' own message and the key, in the worker's log; counted.
    reported = f"{WRONGTYPE} (key {planted} is a string, apply_dossier.lua needs a hash"
    wait_for("the refused batch", lambda: reported in env.tail(), env, timeout=180)
    stalled_at = time.monotonic()
    log = env.logs[0].read_text(errors="replace")
    line = next(line for line in log.splitlines() if reported in line)
    assert "cannot apply a batch" in line and "ResponseError: " in line
    assert "Traceback" not in log
    wait_for("the refusal counted", lambda: refusals(port) >= 1, env)

    # Stalled on that batch: nothing after it is applied, no dossier is half-written. (A
    # retry may write more of the batch's own dossiers, those the key does not concern:
    # each write is whole, and the batch's offsets are recorded only once all are in.)
    before = applied(env)
    assert 0 < before < len(lines)
    progress = client.hgetall(f"{env.namespace}:progress")
    wait_for(
        "a retry",
        lambda: env.logs[0].read_text(errors="replace").count(reported) >= 2,
        env,
        timeout=60,
    )
    assert client.hgetall(f"{env.namespace}:progress") == progress, "moved past the batch"
    assert before <= applied(env) < before + BATCH, "applied more than the batch"
    assert not progress_reached(env)
    assert unbalanced(env.services.redis_url, env.namespace) == {}
    assert worker.poll() is None
    assert env.stats().get("dead_letters", 0) == 0, "a Redis-side problem is not bad input"

    # Fixed: the worker's next retry goes through, and the end is a clean replay's.
    client.delete(planted)
    fixed_at = time.monotonic()
    wait_applied(env)
    resumed = time.monotonic() - fixed_at
    reference, clean_stats = references.of(lines)
    assert_same_state(env, reference)
    assert unbalanced(env.services.redis_url, env.namespace) == {}
    stats = env.stats()
    assert stats["applied"] == len(lines) == clean_stats["applied"]
    assert stats.get("refused", 0) == clean_stats.get("refused", 0)
    assert stats.get("dead_letters", 0) == 0

    # A rebuild over it changes nothing.
    env.cli("rebuild")
    assert_same_state(env, reference)
    assert env.stats()["applied"] == len(lines)

    # A rebuild into a namespace with the same planted key: refused the same way (the
    # command stops, naming the key), nothing half-written; once fixed, exact.
    other = f"rb{uuid.uuid4().hex[:8]}"
    other_planted = planted.replace(env.namespace, other, 1)
    client.set(other_planted, "drift")
    try:
        stopped = rebuild_into(env, other)
        assert stopped.returncode != 0
        assert f"{WRONGTYPE} (key {other_planted} is a string" in stopped.stderr
        assert unbalanced(env.services.redis_url, other) == {}
        client.delete(other_planted)
        done = rebuild_into(env, other)
        assert done.returncode == 0, done.stderr[-3000:]
        problems = read_state(env.services.redis_url, other).differences(reference)
        assert not problems, "rebuild: not the clean run's state:\n" + "\n".join(problems[:40])
        assert unbalanced(env.services.redis_url, other) == {}
    finally:
        delete_namespace(client, other)
    env.check_workers()
    record(
        "redis-wrong-type-key",
        events=len(lines),
        applied_before_the_stall=before,
        stalled_seconds=round(fixed_at - stalled_at, 1),
        seconds_to_exact_after_fix=round(resumed, 1),
    )
