"""Benchmarks, each run side by side with its baseline in one invocation.

    python bench/run.py [--quick] [--only NAME] [--events N]

Uses the servers named by TTHC_KAFKA_BOOTSTRAP / TTHC_REDIS_URL, else starts the
embedded ones (tansu, a local redis-server). Prints one line per figure,
``name: value unit (ratio to baseline)``, and writes bench/results.json.

Figures:
* throughput: the April 2022 mix (``simulate quangtri-2022-04``, repeated with fresh ids
  up to N events) read from one topic by our worker, by a bare Faust agent (the Faust
  floor) and by a bare aiokafka consumer (the stack floor), each counting from its
  first applied event to its last;
* replay: the same file through ``tthc-monitor replay``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import redis
from kafka import KafkaProducer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tthc_monitor.embedded import Embedded, free_port  # noqa: E402
from tthc_monitor.kafka_admin import ensure_topics  # noqa: E402

PARTITIONS = 8


def events_file(target: int, folder: Path) -> tuple[Path, int]:
    base = folder / "month.jsonl"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "tthc_monitor.cli.main",
            "simulate",
            "quangtri-2022-04",
            "--out",
            str(base),
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    lines = base.read_bytes().splitlines()
    out = folder / "events.jsonl"
    written = 0
    with out.open("wb") as handle:
        copy = 0
        while written < target:
            suffix = f"-c{copy}".encode()
            for line in lines:
                if written == target:
                    break
                event = json.loads(line)
                event["event_id"] += suffix.decode()
                event["dossier_id"] += suffix.decode()
                handle.write(json.dumps(event, ensure_ascii=False).encode() + b"\n")
                written += 1
            copy += 1
    return out, written


def produce(bootstrap: str, topic: str, path: Path) -> float:
    ensure_topics(bootstrap, {topic: PARTITIONS})
    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        linger_ms=20,
        batch_size=512 * 1024,
        acks=1,
        compression_type=None,
    )
    started = time.perf_counter()
    with path.open("rb") as handle:
        for line in handle:
            key = json.loads(line)["dossier_id"].encode()
            producer.send(topic, key=key, value=line.rstrip(b"\n"))
    producer.flush()
    producer.close()
    return time.perf_counter() - started


def timed(
    read: Callable[[], int], total: int, process: subprocess.Popen[bytes], timeout: float
) -> float:
    """Events/s from the first event counted to the last."""
    first: tuple[float, int] | None = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        count = read()
        now = time.perf_counter()
        if count and first is None:
            first = (now, count)
        if count >= total and first is not None:
            span = now - first[0]
            return (total - first[1]) / span if span > 0 else float("inf")
        if process.poll() is not None:
            raise RuntimeError(f"consumer exited with {process.returncode}")
        time.sleep(0.05)
    raise TimeoutError(f"only {read()} of {total} events after {timeout:.0f} s")


def throughput(env: dict[str, str], path: Path, total: int, logs: Path) -> dict[str, float]:
    tag = uuid.uuid4().hex[:8]
    topic = f"bench-{tag}"
    produce(env["TTHC_KAFKA_BOOTSTRAP"], topic, path)
    client = redis.Redis.from_url(env["TTHC_REDIS_URL"], decode_responses=True)
    results: dict[str, float] = {}
    namespace = f"bench{tag}"
    runs: list[tuple[str, list[str], dict[str, str], Callable[[], int]]] = [
        (
            "ours",
            [
                sys.executable,
                "-m",
                "tthc_monitor.cli.main",
                "worker",
                "--web-port",
                str(free_port()),
                "--loglevel",
                "warning",
            ],
            {
                "TTHC_TOPIC": topic,
                "TTHC_DLQ_TOPIC": f"{topic}-dlq",
                "TTHC_NAMESPACE": namespace,
                "TTHC_CONSUMER_GROUP": f"ours-{tag}",
                "TTHC_PARTITIONS": str(PARTITIONS),
            },
            lambda: sum(
                int(client.hget(f"{namespace}:stats", k) or 0) for k in ("applied", "duplicates")
            ),
        ),
        (
            "faust_floor",
            [
                sys.executable,
                str(ROOT / "bench" / "floors.py"),
                "faust",
                topic,
                f"faust-{tag}",
                f"{namespace}:faust",
            ],
            {"FLOOR_WEB_PORT": str(free_port())},
            lambda: int(client.get(f"{namespace}:faust") or 0),
        ),
        (
            "stack_floor",
            [
                sys.executable,
                str(ROOT / "bench" / "floors.py"),
                "stack",
                topic,
                f"stack-{tag}",
                f"{namespace}:stack",
            ],
            {},
            lambda: int(client.get(f"{namespace}:stack") or 0),
        ),
    ]
    for name, command, extra, read in runs:
        log = (logs / f"{name}.log").open("wb")
        process = subprocess.Popen(
            command, env=env | extra, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            results[name] = timed(read, total, process, timeout=1800)
        finally:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
    for key in client.scan_iter(f"{namespace}*", count=1000):
        client.delete(key)
    return results


def replay(env: dict[str, str], path: Path, total: int) -> float:
    namespace = f"benchr{uuid.uuid4().hex[:8]}"
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "tthc_monitor.cli.main", "replay", str(path)],
        env=env | {"TTHC_NAMESPACE": namespace},
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    rate = total / (time.perf_counter() - started)
    client = redis.Redis.from_url(env["TTHC_REDIS_URL"])
    for key in client.scan_iter(f"{namespace}*", count=1000):
        client.delete(key)
    return rate


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="180k events instead of 1M")
    parser.add_argument("--only", choices=("throughput", "replay"))
    parser.add_argument("--events", type=int)
    args = parser.parse_args()
    total_target = args.events or (180_877 if args.quick else 1_000_000)
    embedded = Embedded()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    try:
        if not env.get("TTHC_KAFKA_BOOTSTRAP"):
            env["TTHC_KAFKA_BOOTSTRAP"] = embedded.start_tansu()
        if not env.get("TTHC_REDIS_URL"):
            env["TTHC_REDIS_URL"] = embedded.start_redis()
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            path, total = events_file(total_target, folder)
            results: dict[str, object] = {
                "events": total,
                "machine": f"{platform.machine()}, {os.cpu_count()} cores",
                "kafka": env["TTHC_KAFKA_BOOTSTRAP"],
                "commit": subprocess.run(
                    ["git", "rev-parse", "--short", "HEAD"],
                    cwd=ROOT,
                    capture_output=True,
                    text=True,
                ).stdout.strip(),
                "date": time.strftime("%Y-%m-%d"),
            }
            if args.only in (None, "throughput"):
                rates = throughput(env, path, total, folder)
                results["throughput"] = rates
                print(
                    f"throughput: {rates['ours']:,.0f} events/s "
                    f"({rates['ours'] / rates['faust_floor']:.2f} of Faust floor, "
                    f"{rates['ours'] / rates['stack_floor']:.2f} of stack floor)",
                    flush=True,
                )
                print(f"faust_floor: {rates['faust_floor']:,.0f} events/s", flush=True)
                print(f"stack_floor: {rates['stack_floor']:,.0f} events/s", flush=True)
            if args.only in (None, "replay"):
                rate = replay(env, path, total)
                results["replay_events_per_s"] = rate
                print(f"replay: {rate:,.0f} events/s", flush=True)
        (ROOT / "bench" / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    finally:
        embedded.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
