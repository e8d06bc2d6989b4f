"""Scale-out: 1, 2 and 4 ``tthc-monitor worker`` processes in one consumer group.

    python bench/scaleout.py [--events N] [--quick] [--workers 1,2,4]

For each worker count, a fresh 8-partition topic, namespace and consumer group: the
workers start, the group is awaited until it is Stable with every worker a member (so
no rebalance happens during the timing), then the same events (the April 2022 mix,
fresh ids) are produced and the total rate is timed from the first event counted in
Redis to the last (``{ns}:stats`` ``applied`` + ``duplicates``). Per worker is the
total divided by the workers (Redis does not say which worker applied what).

Baseline: 1 worker. The machine's cores (``nproc``) are printed: on 2 cores, the
broker, Redis, the producer and every worker share them, so more workers than cores
mostly measures contention, not the design's scaling.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    PARTITIONS,
    applied_count,
    drop_namespace,
    events_file,
    exit_on_sigterm,
    machine,
    new_tag,
    produce,
    ratio,
    services,
    start,
    stop,
    timed,
    wait_stable,
    worker_command,
    worker_env,
)
from tthc_monitor.embedded import Embedded
from tthc_monitor.kafka_admin import ensure_topics


def run_workers(
    env: dict[str, str], path: Path, total: int, workers: int, logs: Path
) -> dict[str, float]:
    tag = new_tag()
    topic, namespace, group = f"benchso-{tag}", f"benchso{tag}", f"so-{tag}"
    bootstrap, url = env["TTHC_KAFKA_BOOTSTRAP"], env["TTHC_REDIS_URL"]
    ensure_topics(bootstrap, {topic: PARTITIONS})
    wenv = worker_env(env, topic, namespace, group)
    processes = [
        start(
            worker_command(),
            wenv | {"TTHC_DATA_DIR": str(logs / f"faust-{tag}-{n}")},
            logs / f"scaleout-{workers}-{n}.log",
        )
        for n in range(workers)
    ]
    client = redis.Redis.from_url(url)
    try:
        joined = wait_stable(bootstrap, group, workers)
        producer = threading.Thread(target=produce, args=(bootstrap, topic, path))
        producer.start()
        rate = timed(lambda: applied_count(client, namespace), total, processes, timeout=1800)
        producer.join()
        return {"events_per_s": rate, "per_worker": rate / workers, "join_s": joined}
    finally:
        stop(*processes)
        client.close()
        drop_namespace(url, namespace)


def scaleout(
    env: dict[str, str], path: Path, total: int, counts: list[int], logs: Path
) -> dict[str, Any]:
    runs = {str(n): run_workers(env, path, total, n, logs) for n in counts}
    return {"events": total, "nproc": machine()["nproc"], "workers": runs}


def report(result: dict[str, Any]) -> None:
    runs = result["workers"]
    base = runs[min(runs, key=int)]["events_per_s"]
    for n, run in runs.items():
        label = "worker" if n == "1" else "workers"
        print(
            f"scaleout_{n}_{label}: {run['events_per_s']:,.0f} events/s "
            f"({ratio(run['events_per_s'], base)} of 1 worker; "
            f"{run['per_worker']:,.0f} per worker)"
        )
    print(
        f"scaleout_nproc: {result['nproc']} cores (broker, Redis, producer and all workers "
        f"share them)",
        flush=True,
    )


def main() -> int:
    exit_on_sigterm()
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int)
    parser.add_argument("--quick", action="store_true", help="40,000 events instead of 180,877")
    parser.add_argument("--workers", default="1,2,4")
    args = parser.parse_args()
    target = args.events or (40_000 if args.quick else 180_877)
    embedded = Embedded()
    try:
        env = services(embedded)
        with tempfile.TemporaryDirectory() as tmp:
            path, total = events_file(target, Path(tmp))
            counts = [int(n) for n in args.workers.split(",")]
            result = scaleout(env, path, total, counts, Path(tmp))
        report(result)
        print(json.dumps(result, indent=2))
    finally:
        embedded.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
