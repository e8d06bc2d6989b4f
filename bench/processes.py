"""Processes: ``replay`` and ``rebuild`` of the April 2022 month in 1 and 2 processes.

    python bench/processes.py [--rounds 3] [--processes 1,2]

The month (``simulate quangtri-2022-04``, 180,877 events) is replayed from its file and
rebuilt from an 8-partition topic, each into a fresh namespace, with ``--processes N``
for each N in turn, round after round (alternately, so that a machine shared with other
work weighs on every count alike); the figures are the medians over the rounds: events
(messages) per second of the whole command, and CPU per event of the command's
processes and of Redis (bench/usage.py). On a machine with few cores Redis, the broker
and the command's processes share them: the speed-up per added process is the figure to
size a larger machine with, the CPU per event the cost that does not shrink.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import rebuild
from bench.common import (
    ROOT,
    cli,
    drop_namespace,
    exit_on_sigterm,
    new_tag,
    services,
    simulate_month,
)
from bench.usage import Usage
from tthc_monitor.embedded import Embedded


def replay_file(env: dict[str, str], path: Path, total: int, processes: int) -> dict[str, float]:
    namespace = f"benchp{new_tag()}"
    try:
        with Usage(env["TTHC_REDIS_URL"]) as usage:
            subprocess.run(
                cli("replay", str(path), "--processes", str(processes)),
                env=env | {"TTHC_NAMESPACE": namespace},
                cwd=ROOT,
                check=True,
                capture_output=True,
            )
    finally:
        drop_namespace(env["TTHC_REDIS_URL"], namespace)
    return {
        "events_per_s": total / usage.seconds,
        "seconds": usage.seconds,
        "cpu_us_per_event": usage.cpu * 1e6 / total,
        "redis_cpu_us_per_event": usage.redis_cpu * 1e6 / total,
    }


def measure(
    env: dict[str, str], folder: Path, counts: list[int], rounds: int
) -> dict[str, dict[str, dict[str, float]]]:
    """{"replay"|"rebuild": {str(N): medians}}, the runs alternating by N."""
    path = simulate_month(folder)
    with path.open("rb") as handle:
        total = sum(1 for _ in handle)
    topic, _ = rebuild.publish_month(env, folder)
    runs: dict[str, dict[int, list[dict[str, float]]]] = {
        "replay": {n: [] for n in counts},
        "rebuild": {n: [] for n in counts},
    }
    for _ in range(rounds):
        for n in counts:
            runs["replay"][n].append(replay_file(env, path, total, n))
            built = rebuild.rebuild_topic(env, folder, topic, total, n)
            runs["rebuild"][n].append(
                {
                    "events_per_s": built["messages_per_s"],
                    "seconds": built["seconds"],
                    "cpu_us_per_event": built["cpu_us_per_message"],
                    "redis_cpu_us_per_event": built["redis_cpu_us_per_message"],
                }
            )
    return {
        command: {
            str(n): {key: statistics.median(run[key] for run in measured) for key in measured[0]}
            | {"events": total, "rounds": len(measured)}
            for n, measured in by_count.items()
        }
        for command, by_count in runs.items()
    }


def report(result: dict[str, dict[str, dict[str, float]]]) -> None:
    for command, by_count in result.items():
        first = by_count[min(by_count, key=int)]
        for n, figures in by_count.items():
            print(
                f"{command}_processes_{n}: {figures['events_per_s']:,.0f} events/s "
                f"({figures['events_per_s'] / first['events_per_s']:.2f} of 1 process; "
                f"CPU {figures['cpu_us_per_event']:,.0f} µs/event in the command, "
                f"{figures['redis_cpu_us_per_event']:,.0f} µs/event in Redis; "
                f"median of {int(figures['rounds'])}, {int(figures['events']):,} events)",
                flush=True,
            )


def main() -> int:
    exit_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--processes", default="1,2", help="comma-separated counts")
    args = parser.parse_args()
    counts = [int(n) for n in args.processes.split(",")]
    embedded = Embedded()
    try:
        env = services(embedded)
        with tempfile.TemporaryDirectory() as tmp:
            result = measure(env, Path(tmp), counts, args.rounds)
        report(result)
        print(json.dumps(result, indent=2))
    finally:
        embedded.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
