"""First figures of the streaming core: replay and Kafka path on one synthetic file.

Needs TTHC_KAFKA_BOOTSTRAP and TTHC_REDIS_URL (e.g. from scripts/services.sh up).
Prints one figure per line and writes bench/first_figures.json.

    python bench/first_figures.py [--events 100000]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import redis

from tthc_monitor.embedded import free_port

ROOT = Path(__file__).resolve().parents[1]


def cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tthc_monitor.cli.main", *args],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args()
    if not (os.environ.get("TTHC_KAFKA_BOOTSTRAP") and os.environ.get("TTHC_REDIS_URL")):
        print("set TTHC_KAFKA_BOOTSTRAP and TTHC_REDIS_URL", file=sys.stderr)
        return 2
    tag = uuid.uuid4().hex[:8]
    env = dict(
        os.environ,
        PYTHONPATH=str(ROOT),
        TTHC_NAMESPACE=f"bench{tag}",
        TTHC_TOPIC=f"bench-{tag}",
        TTHC_DLQ_TOPIC=f"bench-dlq-{tag}",
        TTHC_CONSUMER_GROUP=f"bench-{tag}",
    )
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "events.jsonl"
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "bench" / "synthetic.py"),
                "--events",
                str(args.events),
                "--out",
                str(source),
            ],
            env=env,
            check=True,
        )

        started = time.perf_counter()
        cli(["replay", str(source)], env | {"TTHC_NAMESPACE": f"bench{tag}r"})
        results["replay_events_per_s"] = args.events / (time.perf_counter() - started)
        print(f"replay: {results['replay_events_per_s']:,.0f} events/s", flush=True)

        worker = subprocess.Popen(
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
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            started = time.perf_counter()
            out = cli(["publish", str(source), "--wait", "--timeout", "1800"], env)
            elapsed = time.perf_counter() - started
        finally:
            worker.terminate()
            worker.wait(30)
        published = re.search(r"in ([\d.]+) s\n", out.stderr)
        results["kafka_path_events_per_s"] = args.events / elapsed
        results["publish_seconds"] = float(published.group(1)) if published else float("nan")
        print(
            f"kafka path (publish + worker applied): "
            f"{results['kafka_path_events_per_s']:,.0f} events/s",
            flush=True,
        )
    client = redis.Redis.from_url(os.environ["TTHC_REDIS_URL"])
    for key in client.scan_iter(f"bench{tag}*", count=1000):
        client.delete(key)
    (ROOT / "bench" / "first_figures.json").write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
