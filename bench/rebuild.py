"""Rebuild: ``tthc-monitor rebuild`` of the April 2022 month from its topic.

    python bench/rebuild.py

The month (``simulate quangtri-2022-04``, 180,877 events, the same size with or without
``--quick``) is published to a fresh 8-partition topic keyed by dossier, then
``tthc-monitor rebuild`` reads it from offset 0 into a fresh Redis namespace. The
figure is messages per second of the whole process, timed around it as ``replay`` is
(interpreter start, reference data, topic listing and the closing progress record
included); the command's own timing (its ``--json`` ``seconds``, the figure quoted by
earlier rounds in docs/benchmarks.md) is printed beside it. The run fails unless the
rebuild reports itself complete and read every message published. The rebuild runs
with its default ``--processes`` (one per core); ``rebuild_topic(..., processes=N)``
chooses, and adds the CPU per message of the command's processes and of Redis
(bench/usage.py; bench/processes.py compares 1 and 2 processes).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    PARTITIONS,
    ROOT,
    cli,
    drop_namespace,
    exit_on_sigterm,
    new_tag,
    produce,
    services,
    simulate_month,
)
from bench.usage import Usage
from tthc_monitor.embedded import Embedded


def publish_month(env: dict[str, str], folder: Path) -> tuple[str, int]:
    """The month on a fresh topic: (topic, messages)."""
    path = simulate_month(folder)
    with path.open("rb") as handle:
        total = sum(1 for _ in handle)
    topic = f"benchrb-{new_tag()}"
    produce(env["TTHC_KAFKA_BOOTSTRAP"], topic, path)
    return topic, total


def rebuild_month(
    env: dict[str, str], folder: Path, processes: int | None = None
) -> dict[str, Any]:
    """Publish the month to a fresh topic, rebuild a fresh namespace from it; figures."""
    topic, total = publish_month(env, folder)
    return rebuild_topic(env, folder, topic, total, processes)


def rebuild_topic(
    env: dict[str, str], folder: Path, topic: str, total: int, processes: int | None = None
) -> dict[str, Any]:
    """``tthc-monitor rebuild [--processes N]`` of ``topic`` into a fresh namespace:
    rate, CPU of the command (its processes) and of Redis, per message."""
    tag = new_tag()
    namespace = f"benchrb{tag}"
    figures = folder / f"rebuild-{tag}.json"
    run_env = env | {
        "TTHC_TOPIC": topic,
        "TTHC_DLQ_TOPIC": f"{topic}-dlq",
        "TTHC_ALERTS_TOPIC": f"{topic}-alerts",
        "TTHC_NAMESPACE": namespace,
    }
    extra = ["--processes", str(processes)] if processes else []
    try:
        with Usage(env["TTHC_REDIS_URL"]) as usage:
            done = subprocess.run(
                cli("rebuild", "--json", str(figures), *extra),
                env=run_env,
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=False,
            )
    finally:
        drop_namespace(env["TTHC_REDIS_URL"], namespace)
    if done.returncode != 0:
        raise RuntimeError(f"rebuild exited with {done.returncode}: {done.stderr[-2000:]}")
    document = json.loads(figures.read_text(encoding="utf-8"))
    if not document["complete"] or document["messages"] != total:
        raise RuntimeError(
            f"rebuild read {document['messages']} of {total} messages "
            f"(complete: {document['complete']})"
        )
    return {
        "messages": total,
        "partitions": PARTITIONS,
        "processes": processes,
        "messages_per_s": total / usage.seconds,
        "seconds": usage.seconds,
        "cpu_us_per_message": usage.cpu * 1e6 / total,
        "redis_cpu_us_per_message": usage.redis_cpu * 1e6 / total,
        "command_seconds": document["seconds"],
        "command_messages_per_s": total / document["seconds"],
        "applied": document["applied"],
        "duplicates": document["duplicates"],
    }


def report(result: dict[str, Any]) -> None:
    print(
        f"rebuild: {result['messages_per_s']:,.0f} messages/s "
        f"({result['messages']:,} messages of the April 2022 month on "
        f"{result['partitions']} partitions in {result['seconds']:.1f} s, whole process; "
        f"the command's own timing {result['command_seconds']:.1f} s, "
        f"{result['command_messages_per_s']:,.0f} messages/s)",
        flush=True,
    )


def main() -> int:
    exit_on_sigterm()
    embedded = Embedded()
    try:
        env = services(embedded)
        with tempfile.TemporaryDirectory() as tmp:
            result = rebuild_month(env, Path(tmp))
        report(result)
        print(json.dumps(result, indent=2))
    finally:
        embedded.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
