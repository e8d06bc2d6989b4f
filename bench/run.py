"""Benchmarks, each run side by side with its baseline in one invocation.

    python bench/run.py [--quick] [--only NAME] [--events N]

Uses the servers named by TTHC_KAFKA_BOOTSTRAP / TTHC_REDIS_URL, else starts the
embedded ones (tansu, a local redis-server). Prints one line per figure,
``name: value unit (ratio to baseline)``, and merges the figures run into
bench/results.json (each with its date, commit, machine and Kafka kind).

Figures (NAME), each also runnable alone as ``python bench/NAME.py``:
* throughput: the April 2022 mix (``simulate quangtri-2022-04``, repeated with fresh ids
  up to N events) read from one topic by our worker, by a bare Faust agent (the Faust
  floor) and by a bare aiokafka consumer (the stack floor), each counting from its
  first applied event to its last;
* replay: the same file through ``tthc-monitor replay``;
* rebuild: ``tthc-monitor rebuild`` of the April 2022 month (180,877 events) from an
  8-partition topic, messages/s of the whole process (bench/rebuild.py);
* processes: ``replay`` and ``rebuild`` of the month with ``--processes`` 1 and 2,
  alternately, medians of 3 runs (1 with --quick): events/s, the speed-up per added
  process and CPU per event of the command and of Redis (bench/processes.py);
* latency: publish → applied in Redis and → visible on /metrics at 2,000 events/s,
  against the stack floor (bench/latency.py);
* alerts: overdue alerts' delay from fire time to the alerts topic through a real
  worker, against the sweep interval (bench/alerts.py);
* timers: Redis bytes per open dossier and the sweep tick, against a bare 100-byte
  record per dossier (bench/timers.py);
* snapshot: simulate → replay → freeze → report of the month, against an HGETALL of
  every counter hash (bench/snapshot.py);
* scaleout: 1, 2 and 4 workers on 8 partitions, against 1 worker (bench/scaleout.py);
* retention: Redis memory after 24 months of a province with compaction and pruning
  running, against month 3 (bench/retention.py; in-process, no Kafka);
* scrape: /metrics p50/p99 with 24 months of history and 1,000,000 / 100,000 open
  spans written into Redis, against the 100 ms target and the former full read
  (bench/scrape.py; in-process, no Kafka);
* cdc_latency: a row written in PostgreSQL → its figure on /metrics through Debezium and
  the translator, against publishing the same event to the topic (bench/cdc_latency.py;
  starts its own stack with scripts/services.sh and scripts/cdc.sh, whatever the
  servers named above).

Sizes (full / --quick): throughput and replay 1,000,000 / 60,000 events (--events
overrides); latency 60 / 10 s of steady publishing; timers 1,000,000 / 100,000 open
dossiers; scaleout 180,877 / 20,000 events; snapshot and rebuild always the whole month;
retention 24 months of 67,716 / 6,772 dossiers a month.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import (
    alerts,
    cdc_latency,
    latency,
    processes,
    rebuild,
    retention,
    scaleout,
    scrape,
    snapshot,
    timers,
)
from bench.common import (
    ROOT,
    cli,
    commit,
    drop_namespace,
    events_file,
    exit_on_sigterm,
    kafka_kind,
    machine,
    new_tag,
    produce,
    services,
    start,
    stop,
    timed,
    worker_command,
    worker_env,
)
from tthc_monitor.embedded import Embedded, free_port

FIGURES = (
    "throughput",
    "replay",
    "rebuild",
    "processes",
    "latency",
    "alerts",
    "timers",
    "snapshot",
    "scaleout",
    "retention",
    "scrape",
    "cdc_latency",
)
RESULTS = ROOT / "bench" / "results.json"


def throughput(env: dict[str, str], path: Path, total: int, logs: Path) -> dict[str, float]:
    tag = new_tag()
    topic = f"bench-{tag}"
    produce(env["TTHC_KAFKA_BOOTSTRAP"], topic, path)
    client = redis.Redis.from_url(env["TTHC_REDIS_URL"], decode_responses=True)
    namespace = f"bench{tag}"
    floors = str(ROOT / "bench" / "floors.py")
    runs: list[tuple[str, list[str], dict[str, str], Callable[[], int]]] = [
        (
            "ours",
            worker_command(),
            worker_env(env, topic, namespace, f"ours-{tag}"),
            lambda: sum(
                int(client.hget(f"{namespace}:stats", k) or 0) for k in ("applied", "duplicates")
            ),
        ),
        (
            "faust_floor",
            [sys.executable, floors, "faust", topic, f"faust-{tag}", f"{namespace}:faust"],
            env | {"FLOOR_WEB_PORT": str(free_port())},
            lambda: int(client.get(f"{namespace}:faust") or 0),
        ),
        (
            "stack_floor",
            [sys.executable, floors, "stack", topic, f"stack-{tag}", f"{namespace}:stack"],
            env,
            lambda: int(client.get(f"{namespace}:stack") or 0),
        ),
    ]
    results: dict[str, float] = {}
    try:
        for name, command, run_env, read in runs:
            process = start(command, run_env, logs / f"{name}.log")
            try:
                results[name] = timed(read, total, [process], timeout=1800)
            finally:
                stop(process)
    finally:
        client.close()
        drop_namespace(env["TTHC_REDIS_URL"], namespace)
    return results


def replay(env: dict[str, str], path: Path, total: int) -> float:
    namespace = f"benchr{new_tag()}"
    started = time.perf_counter()
    try:
        subprocess.run(
            cli("replay", str(path)),
            env=env | {"TTHC_NAMESPACE": namespace},
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        return total / (time.perf_counter() - started)
    finally:
        drop_namespace(env["TTHC_REDIS_URL"], namespace)


def run_figure(name: str, env: dict[str, str], args: argparse.Namespace, folder: Path) -> Any:
    """Run one figure, print its lines; its result for results.json."""
    quick = args.quick
    if name in ("throughput", "replay"):
        path, total = events_file(args.events or (60_000 if quick else 1_000_000), folder)
        if name == "replay":
            rate = replay(env, path, total)
            print(f"replay: {rate:,.0f} events/s ({total:,} events)", flush=True)
            return {"events": total, "events_per_s": rate}
        rates = throughput(env, path, total, folder)
        print(
            f"throughput: {rates['ours']:,.0f} events/s "
            f"({rates['ours'] / rates['faust_floor']:.2f} of Faust floor, "
            f"{rates['ours'] / rates['stack_floor']:.2f} of stack floor; {total:,} events)",
            flush=True,
        )
        print(f"faust_floor: {rates['faust_floor']:,.0f} events/s (baseline)", flush=True)
        print(f"stack_floor: {rates['stack_floor']:,.0f} events/s (baseline)", flush=True)
        return {"events": total, **rates}
    if name == "rebuild":
        result = rebuild.rebuild_month(env, folder)
        rebuild.report(result)
        return result
    if name == "processes":
        measured = processes.measure(env, folder, [1, 2], 1 if quick else 3)
        processes.report(measured)
        return measured
    if name == "latency":
        rate, seconds = 2000.0, 10.0 if quick else 60.0
        path, _ = events_file(int(rate * seconds) + latency.WARM_UP, folder)
        result = latency.latency(env, path, rate, folder)
        latency.report(result)
        return result
    if name == "alerts":
        delays = sorted(alerts.latency(50 if quick else 200, env))
        if not delays:
            raise RuntimeError("no overdue alert arrived")
        sweep = float(env.get("TTHC_ALERT_SWEEP_SECONDS", "0.5"))
        figures = {
            "p50": delays[len(delays) // 2],
            "p99": delays[min(len(delays) - 1, int(len(delays) * 0.99))],
            "max": delays[-1],
        }
        for label, value in figures.items():
            print(
                f"alert_fire_delay_{label}: {value:.2f} s "
                f"({value / sweep:.2f} of the sweep interval, {sweep:.1f} s; "
                f"{len(delays)} overdue alerts)",
                flush=True,
            )
        return {"alerts": len(delays), "sweep_seconds": sweep, **figures}
    if name == "timers":
        result = timers.timers(env, 100_000 if quick else 1_000_000, folder)
        timers.report(result)
        return result
    if name == "snapshot":
        result = snapshot.snapshot_and_report(env, folder)
        snapshot.report(result)
        return result
    if name == "retention":
        result = retention.retention_figure(env["TTHC_REDIS_URL"], quick)
        retention.report(result)
        return result
    if name == "scrape":
        result = scrape.scrape_figure(env["TTHC_REDIS_URL"], quick)
        scrape.report(result)
        return result
    if name == "cdc_latency":
        result = cdc_latency.measure(10 if quick else 30, 0.02, folder)
        cdc_latency.report(result)
        return result
    path, total = events_file(20_000 if quick else 180_877, folder)
    result = scaleout.scaleout(env, path, total, [1, 2, 4], folder)
    scaleout.report(result)
    return result


def merge(name: str, entry: dict[str, Any]) -> None:
    """Put one figure into results.json, keeping the others (read just before writing,
    since another run may have written meanwhile; entries of the old flat format go)."""
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    kept = {k: v for k, v in results.items() if k in FIGURES and isinstance(v, dict)}
    kept[name] = entry
    RESULTS.write_text(json.dumps(kept, indent=2, ensure_ascii=False) + "\n")


def main() -> int:
    exit_on_sigterm()
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="smaller sizes, ~10 minutes on 2 cores"
    )
    parser.add_argument("--only", choices=FIGURES)
    parser.add_argument("--events", type=int, help="events for throughput and replay")
    args = parser.parse_args()
    embedded = Embedded()
    started = time.perf_counter()
    try:
        env = services(embedded)
        facts = {
            "date": time.strftime("%Y-%m-%d %H:%M %Z"),
            "commit": commit(),
            "machine": machine(),
            "kafka": kafka_kind(env),
            "command": " ".join(["python", "bench/run.py", *sys.argv[1:]]),
        }
        print(
            f"# {facts['date']}, commit {facts['commit']}, {facts['kafka']}, {facts['machine']}",
            flush=True,
        )
        with tempfile.TemporaryDirectory() as tmp:
            for name in [args.only] if args.only else FIGURES:
                figure_started = time.perf_counter()
                result = run_figure(name, env, args, Path(tmp))
                seconds = time.perf_counter() - figure_started
                merge(name, facts | {"seconds": round(seconds, 1), "result": result})
        print(f"# whole run: {time.perf_counter() - started:.0f} s", flush=True)
    finally:
        embedded.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
