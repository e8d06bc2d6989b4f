"""/metrics scrape time with 24 months of history and many open dossiers.

    python bench/scrape.py [--open 1000000] [--quick] [--runs N]

In a private namespace, written straight into Redis (no Kafka, no worker): 24 period
counter hashes ending with the current period (every unit of the registry, every flow
and level metric) and ``--open`` running spans (``--quick``: 100,000) in the per-unit due
indexes, one in ten an inter-agency stage, dues spread over 30 days either side of now.
The store is written as one made before the running totals (docs/redis-layout.md,
"Running totals"), so the one-time ``init_totals.lua`` is timed too.

Figures: the scrape (``RedisCollector`` through ``generate_latest``, as ``/metrics``
runs it), p50 and p99 of ``--runs`` scrapes (200; ``--quick`` 50) after one warm-up,
against the target of 100 ms, in wall-clock time and in CPU time of the process (with the
load average: on a shared machine the wall-clock p99 is mostly waiting for a core); and
the baseline, what the scrape read before (every period hash and every member of every
due index, Redis and the client's decoding only, median of 5), which grows with history
and open dossiers.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import redis
from redis.typing import EncodableT, FieldT

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import drop_namespace, exit_on_sigterm, new_tag, percentile, ratio
from tthc_monitor.core.counters import FLOW_METRICS, LEVEL_METRICS
from tthc_monitor.core.periods import LOCAL_TZ, PeriodScheme, shift_period
from tthc_monitor.metrics.collector import RedisCollector
from tthc_monitor.reference.calendar_files import load_calendar
from tthc_monitor.reference.index766_files import load_indicators
from tthc_monitor.reference.registry import load_registry

TARGET = 0.100
MONTHS = 24


def load(url: str, namespace: str, open_spans: int, scheme: PeriodScheme) -> list[str]:
    """Write the history and the open spans; the period names, oldest first."""
    rng = random.Random(24)
    registry = load_registry()
    units = sorted(registry.units)
    latest = scheme.period_of(datetime.now(LOCAL_TZ))
    periods = [shift_period(latest, -k) for k in range(MONTHS - 1, -1, -1)]
    client = redis.Redis.from_url(url)
    with client.pipeline(transaction=False) as pipe:
        for period in periods:
            values: dict[FieldT, EncodableT] = {}
            for unit_id in units:
                for metric in FLOW_METRICS:
                    values[f"{unit_id}|{metric}"] = rng.randint(1, 400)
                for metric in LEVEL_METRICS:
                    values[f"{unit_id}|{metric}"] = rng.randint(-20, 40)
            pipe.hset(f"{namespace}:p:{period}", mapping=values)
            pipe.sadd(f"{namespace}:periods", period)
        pipe.execute()
    now = time.time()
    chunk: dict[str, dict[str, float]] = {}
    for n in range(open_spans):
        unit_id = units[n % len(units)]
        stage = f"interagency:{units[(n * 7) % len(units)]}" if n % 10 == 0 else "owner"
        chunk.setdefault(unit_id, {})[f"bench-{n}|{stage}"] = now + rng.uniform(-30, 30) * 86400
        if (n + 1) % 20_000 == 0 or n == open_spans - 1:
            with client.pipeline(transaction=False) as pipe:
                for unit, members in chunk.items():
                    pipe.zadd(f"{namespace}:open:{unit}", members)
                pipe.execute()
            chunk = {}
    client.close()
    return periods


def old_read(url: str, namespace: str, periods: list[str], runs: int = 5) -> float:
    """What a scrape read before: every period hash and every due index member."""
    client = redis.Redis.from_url(url, decode_responses=True)
    units = list(load_registry().units)
    times: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        with client.pipeline(transaction=False) as pipe:
            for period in periods:
                pipe.hgetall(f"{namespace}:p:{period}")
            for unit_id in units:
                pipe.zrange(f"{namespace}:open:{unit_id}", 0, -1, withscores=True)
            pipe.execute()
        times.append(time.perf_counter() - started)
    client.close()
    return statistics.median(times)


def scrapes(url: str, namespace: str, runs: int) -> tuple[list[float], list[float]]:
    """Seconds of each ``generate_latest`` of the exporter's collector, after a warm-up,
    sorted: wall-clock, and the CPU of this process (the exporter's own cost, apart from
    Redis' work and from waiting for a core on a shared machine)."""
    from prometheus_client import CollectorRegistry, generate_latest

    client = redis.Redis.from_url(url, decode_responses=True)
    collectors = CollectorRegistry(auto_describe=False)
    scheme = PeriodScheme(15)
    collectors.register(
        RedisCollector(
            client,
            load_registry(),
            scheme,
            load_indicators(),
            namespace,
            calendar=load_calendar(),
            partitions=range(8),  # as `serve` with the default topic
        )
    )
    generate_latest(collectors)
    times: list[float] = []
    cpu: list[float] = []
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        generate_latest(collectors)
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    client.close()
    return sorted(times), sorted(cpu)


def scrape_figure(url: str, quick: bool, open_spans: int | None = None) -> dict[str, Any]:
    from tthc_monitor.store.keys import Keys
    from tthc_monitor.store.totals import ensure_totals_sync

    namespace = f"benchsc{new_tag()}"
    spans = open_spans or (100_000 if quick else 1_000_000)
    runs = 50 if quick else 200
    try:
        periods = load(url, namespace, spans, PeriodScheme(15))
        client = redis.Redis.from_url(url, decode_responses=True)
        started = time.perf_counter()
        ensure_totals_sync(client, Keys(namespace), list(load_registry().units))
        init_seconds = time.perf_counter() - started
        client.close()
        baseline = old_read(url, namespace, periods)
        load_before = os.getloadavg()[0]
        times, cpu = scrapes(url, namespace, runs)
        load_after = os.getloadavg()[0]
    finally:
        drop_namespace(url, namespace)
    return {
        "months": MONTHS,
        "open_spans": spans,
        "runs": runs,
        "p50_s": percentile(times, 0.50),
        "p99_s": percentile(times, 0.99),
        "cpu_p50_s": percentile(cpu, 0.50),
        "cpu_p99_s": percentile(cpu, 0.99),
        # The 1-minute load average around the scrapes: on a shared machine, the
        # wall-clock p99 is mostly the wait for a core.
        "load_average": round(max(load_before, load_after), 2),
        "cores": os.cpu_count(),
        "old_read_s": baseline,
        "init_totals_s": init_seconds,
        "target_s": TARGET,
    }


def report(result: dict[str, Any]) -> None:
    size = f"{result['months']} months, {result['open_spans']:,} open spans"
    for label in ("p50", "p99"):
        value = result[f"{label}_s"]
        print(
            f"scrape_{label}: {value * 1000:.1f} ms ({ratio(value, result['target_s'])} of "
            f"the 100 ms target, {ratio(value, result['old_read_s'])} of the former read; "
            f"{size}, {result['runs']} scrapes)",
            flush=True,
        )
    print(
        f"scrape_cpu: p50 {result['cpu_p50_s'] * 1000:.1f} ms, p99 "
        f"{result['cpu_p99_s'] * 1000:.1f} ms (the exporter's process alone; load average "
        f"{result['load_average']} on {result['cores']} cores during the scrapes)",
        flush=True,
    )
    print(
        f"scrape_former_read: {result['old_read_s'] * 1000:.1f} ms (baseline: every period "
        f"hash and due index member, Redis and decoding only; {size})",
        flush=True,
    )
    print(
        f"scrape_init_totals: {result['init_totals_s']:.2f} s (once per store: "
        f"init_totals.lua; {size})",
        flush=True,
    )


def main() -> int:
    exit_on_sigterm()
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--open", type=int, help="open spans (default 1,000,000)")
    parser.add_argument("--url", default=None, help="Redis URL (default TTHC_REDIS_URL)")
    args = parser.parse_args()
    url = args.url or os.environ.get("TTHC_REDIS_URL")
    if not url:
        parser.error("set TTHC_REDIS_URL or --url")
    report(scrape_figure(url, args.quick, args.open))
    return 0


if __name__ == "__main__":
    sys.exit(main())
