"""`replay` and `rebuild` give the same figures in 1 and in 3 processes.

The input: the hand-written scenario under 40 dossier ids each, some events twice, and
unreadable lines, shuffled (a dossier's events keep no order in the file: the rules must
not need one). Each run writes into its own namespace of the suite's Redis (real Kafka
and Redis: no mock); the snapshots of both periods must be byte for byte the same (their
``as_of``, the time of reading, aside), and so must the dead-letter reports, the
summaries' counts, the rebuild's accounts and the statistics the ledgers keep.

An event id reused by another dossier is left out on purpose: which dossier keeps the id
is decided by which write comes first, and processes (like the worker's partitions) do
not order writes across dossiers (docs/cli.md, "replay").
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaProducer

from tests.integration import scenario
from tests.integration.conftest import Env, Services
from tthc_monitor.config import Settings
from tthc_monitor.kafka_admin import ensure_topics

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

PARTITIONS = 8
COPIES = 40
REPEATED = 60
INVALID = 25
PERIODS = ("2022-03", "2022-04")
COUNTS = re.compile(r"replayed (\d+) events in [\d.]+ s \([\d,]+ events/s\): (.*)$", re.M)


def lines() -> list[bytes]:
    out: list[bytes] = []
    for copy in range(COPIES):
        for event in scenario.events():
            body = dict(event, dossier_id=f"{event['dossier_id']}-{copy:02d}")
            body["event_id"] = f"{event['event_id']}-{copy:02d}"
            out.append(json.dumps(body).encode())
    rng = random.Random(20221115)
    out.extend(rng.sample(out, REPEATED))
    out.extend(b"not json %d" % n for n in range(INVALID))
    out.append(b'{"dossier_id": "no-such-unit", "event_id": "x", "type": "received"}')
    rng.shuffle(out)
    return out


@pytest.fixture
def envs(services: Services) -> Iterator[list[Env]]:
    """Four namespaces; the topic of the first (8 partitions) for the rebuilds."""
    made = [Env(services) for _ in range(4)]
    for env in made:
        env.extra["TTHC_TOPIC"] = made[0].topic
        env.extra["TTHC_PARTITIONS"] = str(PARTITIONS)
    try:
        yield made
    finally:
        for env in made:
            env.stop()


def snapshots(env: Env, folder: Path) -> dict[str, Any]:
    """Each period's snapshot, its reading time aside; the rest compared as bytes."""
    out: dict[str, Any] = {}
    for period in PERIODS:
        path = folder / f"{env.namespace}-{period}.json"
        env.cli("snapshot", "--period", period, "--json", str(path))
        document = json.loads(path.read_text(encoding="utf-8"))
        assert document.pop("as_of")
        out[period] = json.dumps(document, ensure_ascii=False, sort_keys=True)
    return out


def replayed(env: Env, source: Path, folder: Path, processes: int) -> dict[str, Any]:
    letters = folder / f"letters-{processes}.jsonl"
    done = env.cli(
        "replay",
        str(source),
        "--skip-invalid",
        "--dead-letters",
        str(letters),
        "--processes",
        str(processes),
    )
    (match,) = COUNTS.findall(done.stderr)
    return {
        "summary": match,
        "letters": letters.read_bytes(),
        "stats": env.stats(),
        "snapshots": snapshots(env, folder),
    }


def rebuilt(env: Env, folder: Path, processes: int) -> dict[str, Any]:
    summary = folder / f"rebuild-{processes}.json"
    env.cli("rebuild", "--json", str(summary), "--processes", str(processes))
    figures = json.loads(summary.read_text(encoding="utf-8"))
    assert figures.pop("seconds") >= 0
    progress = env.redis().hgetall(f"{env.namespace}:progress")
    return {
        "figures": figures,
        "progress": progress,
        "stats": env.stats(),
        "snapshots": snapshots(env, folder),
    }


def test_replay_and_rebuild_in_one_and_three_processes(envs: list[Env], tmp_path: Path) -> None:
    stream = lines()
    source = tmp_path / "events.jsonl"
    source.write_bytes(b"\n".join(stream) + b"\n")

    one, three = replayed(envs[0], source, tmp_path, 1), replayed(envs[1], source, tmp_path, 3)
    assert one == three
    distinct = COPIES * len(scenario.events())
    assert one["summary"][0] == str(distinct + REPEATED)
    assert one["stats"]["applied"] == distinct
    letters = [json.loads(line) for line in one["letters"].decode().splitlines()]
    assert len(letters) == INVALID + 1
    numbers = [letter["offset"] for letter in letters]
    assert numbers == sorted(numbers), "the dead-letter report is in line order"

    settings = Settings(topic=envs[0].topic, partitions=PARTITIONS)
    ensure_topics(
        envs[0].services.kafka, {envs[0].topic: PARTITIONS}, configs=settings.topic_configs()
    )
    publish(envs[0].services.kafka, envs[0].topic, stream)
    single, parallel = rebuilt(envs[2], tmp_path, 1), rebuilt(envs[3], tmp_path, 3)
    assert single == parallel
    assert single["figures"]["complete"] is True
    assert single["figures"]["applied"] == distinct
    assert single["figures"]["invalid"] == INVALID + 1
    assert len(single["progress"]) == PARTITIONS
    # The same events from the topic as from the file: the same figures.
    assert single["snapshots"] == one["snapshots"]


def publish(kafka: str, topic: str, stream: list[bytes]) -> None:
    producer = KafkaProducer(bootstrap_servers=kafka, acks="all", linger_ms=5)
    for line in stream:
        try:
            key = json.loads(line)["dossier_id"].encode()
        except ValueError:
            key = b"unreadable"
        producer.send(topic, key=key, value=line)
    producer.flush()
    producer.close()


def test_a_failed_process_fails_the_rebuild_before_its_end_is_recorded(
    envs: list[Env], tmp_path: Path
) -> None:
    """One process meets a key of the wrong type (Redis refuses the write: not
    transient): the command fails with Redis's word, and neither the partitions'
    progress nor the ``rebuilds`` statistic is recorded."""
    env = envs[0]
    settings = Settings(topic=env.topic, partitions=PARTITIONS)
    ensure_topics(env.services.kafka, {env.topic: PARTITIONS}, configs=settings.topic_configs())
    stream = lines()
    publish(env.services.kafka, env.topic, stream)
    day = next(e["occurred_at"][:10] for e in scenario.events())
    planted = f"{env.namespace}:p:d{day}"
    env.redis().set(planted, "drift")
    stopped = env.cli("rebuild", "--processes", "3", check=False)
    assert stopped.returncode not in (0, 4), stopped.stderr[-3000:]
    assert "rebuilding in 3 processes" in stopped.stderr
    assert f"key {planted} is a string" in stopped.stderr
    assert env.redis().hgetall(f"{env.namespace}:progress") == {}
    assert "rebuilds" not in env.stats()
