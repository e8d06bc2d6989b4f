"""Dead letters exactly once, and statistics once per message, under retries and crashes.

* Redis down while malformed messages arrive: the worker retries the batch and sends
  nothing meanwhile; Redis back, each bad message is in the dead-letter topic once. Then
  the worker is SIGKILLed right after its last write, before its offset commit: the
  batches are delivered again to a new worker, and nothing is sent or counted again.
* A batch whose write Redis refuses (a dossier key of the wrong type) after its dead
  letters were sent: retried with Redis up, its dead letters are not sent again; the
  worker SIGKILLed while it retries (dead letters sent, nothing recorded, nothing
  committed), a new worker gets the batch again and finds them in the topic.

Each case ends with the topic read from the beginning (every bad message once, by
source offset), the statistics equal to the messages (`applied` + `duplicates` +
`dead_letters`) and the counters equal to a clean replay.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from kafka import KafkaConsumer, TopicPartition

from tests.faults.events import Lines, dossier_of, produce, subset
from tests.faults.malformed import malformed
from tests.faults.reference import References, assert_same_state
from tests.faults.services import PrivateRedis
from tests.faults.suite import record
from tests.faults.workers import kill, wait_applied, wait_for
from tests.integration.conftest import Env, Services
from tthc_monitor.kafka_admin import end_offsets

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

Stream = list[tuple[str | None, bytes | None, bytes]]
"""(kind of a bad message or None, value, key)."""


def mixed(good: Lines, bad: list[tuple[str, bytes | None]], rng: random.Random) -> Stream:
    """The good lines in order, the bad messages at random places among them."""
    stream: Stream = [(None, line, dossier_of(line).encode()) for line in good]
    for kind, raw in bad:
        stream.insert(rng.randrange(len(stream) + 1), (kind, raw, b"unreadable"))
    return stream


def publish(env: Env, stream: Stream) -> set[str]:
    """Publish; returns the sources (`topic:partition:offset`) of the bad messages."""
    placed = produce(
        env.services.kafka,
        env.topic,
        [raw for _, raw, _ in stream],  # type: ignore[misc]
        [key for _, _, key in stream],
    )
    return {
        f"{env.topic}:{p}:{o}" for (kind, _, _), (p, o) in zip(stream, placed, strict=True) if kind
    }


def letters_by_source(env: Env) -> Counter[str]:
    """The dead-letter topic from the beginning: how many letters each source has."""
    total = sum(end_offsets(env.services.kafka, env.dlq).values())
    counts: Counter[str] = Counter()
    if not total:
        return counts
    consumer = KafkaConsumer(
        env.dlq,
        bootstrap_servers=env.services.kafka,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=10_000,
    )
    read = 0
    for message in consumer:
        headers = dict(message.headers)
        counts[headers["tthc-source"].decode()] += 1
        read += 1
        if read >= total:
            break
    consumer.close()
    assert read == total, f"read {read} of {total} dead letters"
    return counts


def committed(env: Env) -> dict[int, int]:
    """The workers' committed offsets (asked without joining their group)."""
    consumer = KafkaConsumer(
        bootstrap_servers=env.services.kafka,
        group_id=f"group-{env.tag}",
        enable_auto_commit=False,
    )
    try:
        partitions = end_offsets(env.services.kafka, env.topic)
        found = {p: consumer.committed(TopicPartition(env.topic, p)) for p in partitions}
    finally:
        consumer.close()
    return {p: offset or 0 for p, offset in found.items()}


def ledger_fields(env: Env) -> list[str]:
    """The fields of the worker's ledger (record_progress.lua)."""
    fields: list[str] = env.redis().hkeys(f"{env.namespace}:ledger")  # type: ignore[assignment]
    return fields


def retries(env: Env, worker: int, *words: str) -> int:
    log = env.logs[worker].read_text(errors="replace")
    return sum(
        1
        for line in log.splitlines()
        if "cannot apply a batch" in line and all(w in line for w in words)
    )


def check_exact(
    env: Env,
    references: References,
    lines: Lines,
    bad_at: set[str],
    copies: int,
) -> dict[str, int]:
    letters = letters_by_source(env)
    twice = {source: n for source, n in letters.items() if n > 1}
    assert not twice, f"dead letters sent more than once: {twice}"
    assert set(letters) == bad_at
    stats = env.stats()
    assert stats["dead_letters"] == len(bad_at)
    assert stats["applied"] == len(lines)
    assert stats.get("duplicates", 0) == copies
    assert stats["applied"] + stats["duplicates"] + stats["dead_letters"] == (
        len(lines) + copies + len(bad_at)
    ), stats
    reference, _ = references.of(lines)
    assert_same_state(env, reference)
    return stats


def test_dead_letters_once_through_a_redis_outage_and_a_redelivery(
    month_lines: Lines,
    references: References,
    services: Services,
    private_redis: PrivateRedis,
    make_env: Callable[..., Env],
    tmp_path: Path,
) -> None:
    rng = random.Random(11)
    lines = subset(month_lines, 24, salt=5)
    references.start(lines)
    first, second = lines[: len(lines) // 2], lines[len(lines) // 2 :]
    copies = rng.sample(first, 40)  # genuine duplicates: counted once each
    events = [json.loads(line) for line in lines]
    env = make_env(Services(services.kafka, private_redis.url))
    worker = env.start_worker(tmp_path)
    before_outage = publish(env, mixed(first, malformed(events, 20, rng), rng))
    wait_applied(env)

    private_redis.kill()
    started = time.monotonic()
    during_outage = publish(env, mixed(second + copies, malformed(events, 60, rng), rng))
    bad_at = before_outage | during_outage
    wait_for("three retries", lambda: retries(env, 0) >= 3, env, timeout=60)
    # Nothing is sent while Redis is down: a batch's claims come before its dead letters.
    assert letters_by_source(env) == Counter(before_outage)
    private_redis.start()  # same port and directory: the AOF is read back
    wait_applied(env)
    seconds = time.monotonic() - started
    assert "Traceback" not in env.logs[0].read_text(errors="replace")
    stats = check_exact(env, references, lines, bad_at, len(copies))

    # SIGKILL right after the last write, before the offsets are committed (every 2.8
    # s): a new worker gets again what was not committed; nothing changes.
    kill(worker)
    ends = end_offsets(env.services.kafka, env.topic)
    before = committed(env)
    redelivered = sum(end - before.get(p, 0) for p, end in ends.items())
    env.start_worker(tmp_path)
    wait_for(
        "the redelivered messages committed",
        lambda: all(committed(env).get(p, 0) >= end for p, end in ends.items() if end),
        env,
        timeout=120,
    )
    assert env.stats() == stats
    check_exact(env, references, lines, bad_at, len(copies))
    record(
        "dead-letters-redis-outage",
        events=len(lines),
        bad_messages=len(bad_at),
        duplicates=len(copies),
        bad_during_outage=len(during_outage),
        retries_during_outage=retries(env, 0),
        seconds_to_exact=round(seconds, 1),
        redelivered_after_kill=redelivered,
    )


def test_dead_letters_once_when_the_worker_dies_after_sending_them(
    month_lines: Lines,
    references: References,
    services: Services,
    make_env: Callable[..., Env],
    tmp_path: Path,
) -> None:
    rng = random.Random(13)
    lines = subset(month_lines, 24, salt=9)
    references.start(lines)
    first, second = lines[: len(lines) // 2], lines[len(lines) // 2 :]
    copies = rng.sample(first, 30)
    events = [json.loads(line) for line in lines]
    env = make_env(services)
    worker = env.start_worker(tmp_path)
    bad_at = before = publish(env, mixed(first, malformed(events, 20, rng), rng))
    wait_applied(env)

    # A dossier that only the second half has, and bad messages on its partition around
    # its first event: whatever the batch boundaries, its batch has dead letters.
    seen = {dossier_of(line) for line in first}
    at = next(i for i, line in enumerate(second) if i > 200 and dossier_of(line) not in seen)
    victim = dossier_of(second[at])
    stream = mixed(second[:at], malformed(events, 30, rng), rng)
    cluster = [(kind, raw, victim.encode()) for kind, raw in malformed(events, 6, rng)]
    stream += [*cluster[:3], (None, second[at], victim.encode()), *cluster[3:]]
    stream += mixed(second[at + 1 :] + copies, malformed(events, 30, rng), rng)
    # Redis refuses the victim's write (its key holds a hash): the batch fails after
    # its dead letters are sent, and is retried with Redis up.
    poisoned = f"{env.namespace}:d:{victim}"
    env.redis().hset(poisoned, "not", "a dossier")
    bad_at = bad_at | publish(env, stream)
    wait_for("three retries", lambda: retries(env, 0, "WRONGTYPE") >= 3, env, timeout=90)
    stalled = letters_by_source(env)
    assert all(n == 1 for n in stalled.values()), f"sent again by a retry: {stalled}"
    # The stalled batch's dead letters are sent and still claimed (not recorded).
    claimed = {f.removeprefix("claim|") for f in ledger_fields(env) if f.startswith("claim|")}
    assert claimed, "the stalled batch has dead letters"
    assert claimed <= set(stalled) - before

    # Dead letters sent, nothing recorded, nothing committed: SIGKILL, repair, restart.
    kill(worker)
    env.redis().delete(poisoned)
    started = time.monotonic()
    env.start_worker(tmp_path)
    wait_applied(env)
    seconds = time.monotonic() - started
    log = env.logs[1].read_text(errors="replace")
    assert "Traceback" not in log
    check_exact(env, references, lines, bad_at, len(copies))
    assert not [f for f in ledger_fields(env) if f.startswith("claim|")], "claims left"
    record(
        "dead-letters-worker-killed-after-sending",
        events=len(lines),
        bad_messages=len(bad_at),
        duplicates=len(copies),
        claimed_at_kill=len(claimed),
        sent_before_kill=len(stalled) - len(before),
        seconds_to_exact=round(seconds, 1),
    )
