"""A malformed-input storm (5% of the messages), with orphans whose `received` comes late.

All good events counted (the state equals a clean run of the good events), every bad
message in the dead-letter topic with a reason, the worker never down; orphans are held,
counted on /metrics, and applied when their `received` arrives.
"""

from __future__ import annotations

import json
import random
import socket
import subprocess
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from kafka import KafkaConsumer
from prometheus_client.parser import text_string_to_metric_families

from tests.faults.events import CLI, Lines, bucket, dossier_of, produce, subset
from tests.faults.malformed import KINDS, malformed
from tests.faults.reference import References, assert_same_state
from tests.faults.suite import record
from tests.faults.workers import wait_applied
from tests.integration.conftest import ROOT, Env, Services
from tthc_monitor.embedded import free_port
from tthc_monitor.kafka_admin import end_offsets

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

BAD_SHARE = 0.05
ORPHANS = 40


def orphan_events(month_lines: Lines) -> tuple[Lines, Lines]:
    """Dossiers outside the good subset whose events all come before their `received`:
    (their other events, their `received` events)."""
    by_dossier: dict[str, list[bytes]] = {}
    for line in month_lines:
        dossier = dossier_of(line)
        if bucket(dossier, 16) == 9:
            by_dossier.setdefault(dossier, []).append(line)
    chosen = [d for d, events in sorted(by_dossier.items()) if len(events) >= 3][:ORPHANS]
    held, received = [], []
    for dossier in chosen:
        for line in by_dossier[dossier]:
            (received if json.loads(line)["type"] == "received" else held).append(line)
    return held, received


class Exporter:
    def __init__(self, env: Env, log: Path) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [*CLI, "serve", "--port", str(self.port), "--period", "2022-04"],
            env=env.vars(),
            cwd=ROOT,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), 0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"serve did not start: {log.read_text()}")

    def gauges(self) -> dict[str, float]:
        url = f"http://127.0.0.1:{self.port}/metrics"
        with urllib.request.urlopen(url, timeout=30) as response:
            text = response.read().decode()
        values: dict[str, float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if not sample.labels:
                    values[sample.name] = sample.value
                elif sample.name == "tthc_pipeline_events_total":
                    values[f"events_{sample.labels['outcome']}"] = sample.value
        return values

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


@pytest.fixture
def exporter_for(tmp_path: Path) -> Iterator[Callable[[Env], Exporter]]:
    started: list[Exporter] = []

    def start(env: Env) -> Exporter:
        started.append(Exporter(env, tmp_path / "serve.log"))
        return started[-1]

    try:
        yield start
    finally:
        for exporter in started:
            exporter.stop()


def dead_letters(env: Env) -> list[dict[str, str]]:
    total = sum(end_offsets(env.services.kafka, env.dlq).values())
    consumer = KafkaConsumer(
        env.dlq,
        bootstrap_servers=env.services.kafka,
        auto_offset_reset="earliest",
        consumer_timeout_ms=10_000,
    )
    letters = []
    for message in consumer:
        letters.append({k: v.decode() for k, v in message.headers})
        if len(letters) >= total:
            break
    consumer.close()
    return letters


def test_malformed_storm_and_late_orphans(
    month_lines: Lines,
    references: References,
    services: Services,
    make_env: Callable[..., Env],
    exporter_for: Callable[[Env], Exporter],
    tmp_path: Path,
) -> None:
    rng = random.Random(5)
    good = subset(month_lines, 16, salt=6)
    held, late_received = orphan_events(month_lines)
    references.start(good + held)
    references.start(good + held + late_received)
    bad_count = round((len(good) + len(held)) * BAD_SHARE / (1 - BAD_SHARE))
    bad = malformed([json.loads(line) for line in good], bad_count, rng)

    # Good and held events in stream order, the bad ones at random places among them.
    stream: list[tuple[str | None, bytes | None]] = [(None, line) for line in good + held]
    for kind, raw in bad:
        stream.insert(rng.randrange(len(stream) + 1), (kind, raw))
    keys = []
    for _, raw in stream:
        try:
            keys.append(dossier_of(raw).encode() if raw else b"empty")
        except Exception:
            keys.append(b"unreadable")

    env = make_env(services)
    worker = env.start_worker(tmp_path)
    exporter = exporter_for(env)
    started = time.monotonic()
    placed = produce(env.services.kafka, env.topic, [raw for _, raw in stream], keys)  # type: ignore[misc]
    wait_applied(env)
    seconds = time.monotonic() - started
    assert worker.poll() is None
    assert "Traceback" not in env.logs[0].read_text(errors="replace")

    # Every bad message in the dead-letter topic, with a reason; no good one there.
    bad_at = {
        f"{env.topic}:{p}:{o}" for (kind, _), (p, o) in zip(stream, placed, strict=True) if kind
    }
    letters = dead_letters(env)
    sources = {letter["tthc-source"] for letter in letters}
    assert sources == bad_at
    assert all(letter.get("tthc-reason") for letter in letters)
    stats = env.stats()
    assert stats["dead_letters"] == len(bad_at)
    assert stats["applied"] == len(good) + len(held)

    # The good events counted; the orphans held and counted.
    reference, _ = references.of(good + held)
    assert_same_state(env, reference)
    orphans = len({dossier_of(line) for line in held})
    gauges = exporter.gauges()
    assert gauges["tthc_pipeline_orphan_dossiers"] == orphans
    assert gauges["tthc_pipeline_orphan_events"] == len(held)
    assert gauges["events_dead_letter"] == len(bad_at)

    # The late `received`: the held events are applied, the gauges return to 0.
    produce(env.services.kafka, env.topic, late_received)
    wait_applied(env)
    final, _ = references.of(good + held + late_received)
    assert_same_state(env, final)
    gauges = exporter.gauges()
    assert gauges["tthc_pipeline_orphan_dossiers"] == 0
    assert gauges["tthc_pipeline_orphan_events"] == 0
    assert worker.poll() is None
    record(
        "malformed-storm",
        good_events=len(good),
        bad_messages=len(bad_at),
        kinds=len(KINDS),
        bad_by_kind=dict(Counter(kind for kind, _ in bad)),
        orphan_dossiers=orphans,
        orphan_events=len(held),
        seconds=round(seconds, 1),
    )
