"""Real Kafka and Redis for integration tests.

``make test`` (and so CI) starts Apache Kafka and Debian's redis-server with
scripts/services.sh and exports TTHC_KAFKA_BOOTSTRAP / TTHC_REDIS_URL. Without
them, the fixtures start the zero-install servers (tansu and a local redis-server).
Each test gets its own topics, consumer group and Redis namespace.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis
from kafka import KafkaProducer

from tthc_monitor.embedded import Embedded, free_port

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Services:
    kafka: str
    redis_url: str


@pytest.fixture(scope="session")
def services() -> Iterator[Services]:
    kafka = os.environ.get("TTHC_KAFKA_BOOTSTRAP")
    redis_url = os.environ.get("TTHC_REDIS_URL")
    embedded = Embedded()
    try:
        if not kafka:
            kafka = embedded.start_tansu()
        if not redis_url:
            redis_url = embedded.start_redis()
        yield Services(kafka, redis_url)
    finally:
        embedded.stop()


@dataclass
class Env:
    """An isolated slice of the services: its own topics, group and namespace."""

    services: Services
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)
    extra: dict[str, str] = field(default_factory=dict)
    """More TTHC_* settings for the workers and the CLI (e.g. a fake clock)."""

    @property
    def topic(self) -> str:
        return f"events-{self.tag}"

    @property
    def dlq(self) -> str:
        return f"events-dlq-{self.tag}"

    @property
    def namespace(self) -> str:
        return f"t{self.tag}"

    def vars(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TTHC_")}
        env.update(
            TTHC_KAFKA_BOOTSTRAP=self.services.kafka,
            TTHC_REDIS_URL=self.services.redis_url,
            TTHC_TOPIC=self.topic,
            TTHC_DLQ_TOPIC=self.dlq,
            TTHC_NAMESPACE=self.namespace,
            TTHC_CONSUMER_GROUP=f"group-{self.tag}",
            TTHC_PARTITIONS="4",
            PYTHONPATH=str(ROOT),
        )
        env.update(self.extra)
        return env

    def cli(
        self, *args: str, check: bool = True, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "tthc_monitor.cli.main", *args],
            env=self.vars(),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=ROOT,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"tthc-monitor {' '.join(args)} exited {result.returncode}\n"
                f"stdout: {result.stdout[-2000:]}\nstderr: {result.stderr[-4000:]}"
            )
        return result

    def start_worker(self, log_dir: Path) -> subprocess.Popen[bytes]:
        log = log_dir / f"worker-{len(self.workers)}.log"
        self.logs.append(log)
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tthc_monitor.cli.main",
                "worker",
                "--web-port",
                str(free_port()),
            ],
            env=self.vars(),
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        self.workers.append(process)
        return process

    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.services.redis_url, decode_responses=True)

    def stats(self) -> dict[str, int]:
        return {k: int(v) for k, v in self.redis().hgetall(f"{self.namespace}:stats").items()}

    def wait_stats(self, predicate: object, timeout: float = 120) -> dict[str, int]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            stats = self.stats()
            if predicate(stats):  # type: ignore[operator]
                return stats
            self.check_workers()
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting; stats {self.stats()}; {self.tail()}")

    def check_workers(self) -> None:
        for worker in self.workers:
            if worker.poll() not in (None, -signal.SIGKILL):
                raise AssertionError(f"worker died: {self.tail()}")

    def tail(self) -> str:
        return "\n".join(
            log.read_text(errors="replace")[-3000:] for log in self.logs if log.exists()
        )

    def stop(self) -> None:
        for worker in self.workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        for worker in self.workers:
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        client = self.redis()
        keys = list(client.scan_iter(f"{self.namespace}:*", count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])


@pytest.fixture
def env(services: Services) -> Iterator[Env]:
    environment = Env(services)
    try:
        yield environment
    finally:
        environment.stop()


def produce(env: Env, lines: list[bytes]) -> None:
    """Publish raw lines to the env's topic, keyed by dossier when the line is readable."""
    producer = KafkaProducer(bootstrap_servers=env.services.kafka, acks="all", linger_ms=5)
    for line in lines:
        try:
            key = json.loads(line)["dossier_id"].encode()
        except (ValueError, KeyError):
            key = b"unparsable"
        producer.send(env.topic, key=key, value=line)
    producer.flush()
    producer.close()
