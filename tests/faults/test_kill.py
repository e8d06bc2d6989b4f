"""SIGKILL of the worker at random points of the April 2022 month, then Redis lost and
`tthc-monitor rebuild` from the topic; every step ends exact.

The last worker, started after the last kill, must also carry on after the rebuild.
(This loop replaces the single SIGKILL of tests/integration/test_pipeline.py, which it
generalises: the month instead of a filler, N points instead of one.)

TTHC_FAULT_KILLS sets the number of kills: 4 by default (CI), 20 with `make faults`.

It runs on the suite's broker (Apache Kafka under `make test` and CI) and on a tansu it
starts itself, with a quarter of the kills: tansu answers ListOffsets short of a partition's
last batch, and a rebuild that trusted it lost 157 of the month's events there
(docs/faults.md). The rebuild must account for every offset up to the true end.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pytest

from tests.faults.events import Lines, produce
from tests.faults.reference import References, assert_same_state, delete_namespace
from tests.faults.suite import fault_kills, record
from tests.faults.workers import applied, kill, wait_applied, wait_for
from tests.integration.conftest import Env, Services
from tthc_monitor.embedded import Embedded
from tthc_monitor.kafka_admin import end_offsets

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]


def reached(env: Env, point: int) -> bool:
    return applied(env) >= point


@pytest.fixture(params=["kafka", "tansu"])
def broker(request: pytest.FixtureRequest, services: Services) -> Iterator[Services]:
    """The suite's broker, or a tansu of this case (with the suite's Redis)."""
    if request.param == "kafka":
        yield services
        return
    embedded = Embedded()
    try:
        yield Services(embedded.start_tansu(), services.redis_url)
    finally:
        embedded.stop()


def test_sigkill_loop_over_the_month_then_rebuild(
    month_lines: Lines,
    references: References,
    services: Services,
    broker: Services,
    make_env: Callable[..., Env],
    tmp_path: Path,
) -> None:
    on_tansu = broker is not services
    # A quarter of the kills on tansu (1 in CI, 5 with `make faults`): CI time; the
    # rebuild is what that run is for.
    kills = max(1, fault_kills() // 4) if on_tansu else fault_kills()
    references.start(month_lines)  # the clean run, in the background meanwhile
    env = make_env(broker, TTHC_PARTITIONS="8")
    started = time.monotonic()
    produce(env.services.kafka, env.topic, month_lines)
    rng = random.Random(20220415 + kills)
    total = len(month_lines)
    points = sorted(rng.sample(range(total // 50, total - total // 50), kills))
    worker = env.start_worker(tmp_path)
    landed: list[int] = []
    for point in points:
        wait_for(f"{point} events applied", partial(reached, env, point), env, 300)
        kill(worker)
        landed.append(applied(env))
        worker = env.start_worker(tmp_path)
    wait_applied(env, timeout=900)
    loop_seconds = time.monotonic() - started
    assert all(at < total for at in landed), f"every kill mid-stream: {landed}"
    reference_month, month_stats = references.of(month_lines)
    assert month_stats["applied"] == total
    assert env.stats()["applied"] == total, "each event applied exactly once"
    assert_same_state(env, reference_month)

    # Redis lost (the namespace emptied under the running worker), rebuilt from Kafka.
    delete_namespace(env.redis(), env.namespace)
    summary = tmp_path / "rebuild.json"
    began = time.monotonic()
    out = env.cli("rebuild", "--json", str(summary), timeout=900)
    rebuild_seconds = time.monotonic() - began
    print(out.stderr.strip().splitlines()[-1])
    figures = json.loads(summary.read_text())
    assert figures["messages"] == len(month_lines)
    assert figures["applied"] == len(month_lines)
    # Every offset accounted for, up to the true end of each partition.
    ends = {p: end for p, end in end_offsets(env.services.kafka, env.topic).items() if end}
    assert sum(ends.values()) == len(month_lines)
    assert figures["complete"] is True
    assert {int(p): end for p, end in figures["end_offsets"].items()} == ends
    for partition, part in figures["partitions"].items():
        counted = sum(
            part[k] for k in ("applied", "duplicates", "refused", "invalid", "rule_failures")
        )
        assert counted == part["end"] - part["first"], f"partition {partition}: {part}"
        assert part["missing"] == [] and part["empty"] == 0
    assert_same_state(env, reference_month)

    # The worker's committed offsets are still right: a redelivered sample is recognised
    # (neither re-read from 0 nor skipped), and the state does not move.
    copies = rng.sample(month_lines, 1000)
    before = env.stats()
    produce(env.services.kafka, env.topic, copies)
    wait_applied(env)
    after = env.stats()
    assert after["applied"] == before["applied"] == len(month_lines)
    assert after.get("duplicates", 0) - before.get("duplicates", 0) == len(copies)
    assert_same_state(env, reference_month)
    env.check_workers()
    broker_name = "tansu" if on_tansu else "kafka"
    record(
        "sigkill-loop",
        broker=broker_name,
        events=len(month_lines),
        kills=kills,
        applied_at_kills=landed,
        loop_seconds=round(loop_seconds, 1),
    )
    record(
        "rebuild-month",
        broker=broker_name,
        events=len(month_lines),
        rebuild_seconds=round(rebuild_seconds, 1),
        command_seconds=figures["seconds"],
    )
