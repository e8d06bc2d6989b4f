"""The fault suite's fixtures: the month's events, clean-run references, private services, envs."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from tests.faults.events import CLI, Lines
from tests.faults.reference import References
from tests.faults.services import PrivateKafka, PrivateRedis
from tests.integration.conftest import ROOT, Env, Services, services  # noqa: F401 (fixture)
from tthc_monitor.config import Settings
from tthc_monitor.kafka_admin import ensure_topics


@pytest.fixture(scope="session")
def month(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Quảng Trị April 2022 stream (180,877 events), as `simulate` writes it."""
    out = tmp_path_factory.mktemp("month") / "quangtri-2022-04.jsonl"
    subprocess.run(
        [*CLI, "simulate", "quangtri-2022-04", "--out", str(out)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=300,
    )
    return out


@pytest.fixture(scope="session")
def month_lines(month: Path) -> Lines:
    return [line for line in month.read_bytes().splitlines() if line.strip()]


@pytest.fixture(scope="session")
def references(
    services: Services,  # noqa: F811 - the fixture imported above
    tmp_path_factory: pytest.TempPathFactory,
) -> References:
    return References(services, tmp_path_factory.mktemp("references"))


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def private_kafka(tmp_path: Path) -> Iterator[PrivateKafka]:
    broker = PrivateKafka(tmp_path / "run")
    try:
        yield broker
    finally:
        broker.down()


@pytest.fixture
def make_env(tmp_path: Path) -> Iterator[Callable[..., Env]]:
    """Envs on services of the case's choosing; stopped (workers and keys) at the end."""
    made: list[Env] = []

    def make(on: Services, create_topics: bool = True, **extra: str) -> Env:
        env = Env(on)
        env.extra.update(extra)
        made.append(env)
        if create_topics:
            # As the worker creates them (partitions, retention), before raw producing
            # could auto-create the topic with the broker's defaults.
            settings = Settings(topic=env.topic, partitions=int(env.vars()["TTHC_PARTITIONS"]))
            ensure_topics(
                on.kafka,
                {env.topic: settings.partitions, env.dlq: 1},
                configs=settings.topic_configs(),
            )
        return env

    try:
        yield make
    finally:
        for env in made:
            # The case's private Redis may be gone already.
            with contextlib.suppress(redis.ConnectionError, OSError):
                env.stop()
