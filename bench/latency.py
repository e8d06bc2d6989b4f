"""Latency at a steady rate: publish → applied in Redis, and → visible on ``/metrics``.

    python bench/latency.py [--rate 2000] [--seconds 60] [--quick]

Events of the April 2022 mix (fresh ids) are published at a steady ``--rate`` to a
running consumer, first the stack floor (``bench/floors.py stack``: a bare aiokafka
consumer doing one Redis INCR per event), then our ``tthc-monitor worker`` with a
``tthc-monitor serve`` beside it, each on its own topic. ``occurred_at`` is left alone
(the rules use it); the producer records the wall-clock time of every ``send()`` per
event id instead. Before timing, 500 warm-up events are published and awaited, so the
consumer has joined its group and connected to Redis.

How "applied" is observed (resolution ≤ 10 ms):

* ours, exact per event: a poller thread issues ``HMGET {ns}:eid id ...`` for every
  published id not yet seen, about every 5 ms. The worker's Lua write sets the
  ``eid`` field in the same atomic step as the dossier state and the counters, so an
  id's first appearance is the moment it was applied. The time taken is the start of
  the first poll that sees it: an upper bound, late by at most one poll interval
  (median and max interval are reported in results.json as ``poll_ms``). At most the
  oldest 1,000 ids not yet seen are asked per poll, so the poller's own load stays
  bounded when a consumer falls behind; an id applied outside that window (more than
  ~1 s of publishing ahead of the oldest unapplied one) is then seen late;
* both, by count: the same poller reads the consumer's counter (ours: ``{ns}:stats``
  ``applied`` + ``duplicates``; the floor: its INCR key). The k-th published event
  counts as applied at the first poll where the counter has grown by k. Partitions are
  consumed in parallel, so this is exact only on average; it is the method the floor
  allows, and ours is also measured this way for a like-for-like ratio.

"Visible on /metrics": a scraper thread GETs ``/metrics`` of ``serve`` every 100 ms
(as Prometheus would, at a tight interval) and reads
``tthc_pipeline_events_total{outcome="applied"}`` + ``{outcome="duplicate"}``; the
k-th event is visible at the end of the first scrape showing k more. The floor's
counterpart samples its counter every 100 ms from the poller's reads.

Where the CPU went while timing (Linux): the consumer's processes and ``serve`` from
/proc, Redis from ``INFO cpu``, the harness (producer, scraper, poller) from this
process's rusage, and the broker with anything else as the rest of the machine's busy
time, each in µs per published event. On a small machine all of them share the cores,
so a consumer short of CPU shows up here before it shows in the latency.
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import re
import resource
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event as EventType
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    PARTITIONS,
    ROOT,
    cli,
    drop_namespace,
    events_file,
    exit_on_sigterm,
    new_tag,
    percentile,
    producer,
    ratio,
    services,
    start,
    stop,
    wait_stable,
    worker_command,
    worker_env,
)
from bench.usage import children_cpu, machine_busy, process_cpu, redis_cpu
from tthc_monitor.embedded import Embedded, free_port, wait_for_port
from tthc_monitor.kafka_admin import ensure_topics

WARM_UP = 500
POLL_SECONDS = 0.005
WINDOW = 1000
"""Ids asked per poll at most (the oldest not yet seen), so that a consumer falling
behind is not slowed further by an ever larger HMGET."""
SCRAPE_SECONDS = 0.1
METRIC = re.compile(rb'^tthc_pipeline_events_total\{outcome="(applied|duplicate)"\} (\S+)$', re.M)


def load(path: Path) -> list[tuple[str, bytes, bytes]]:
    """(event id, key, value) of every line."""
    out = []
    for line in path.read_bytes().splitlines():
        event = json.loads(line)
        out.append((event["event_id"], event["dossier_id"].encode(), line))
    return out


def poll(
    url: str,
    eid_key: str | None,
    counter: tuple[str, list[str]],
    ids: list[str],
    published: Synchronized[int],
    done: EventType,
    results: Connection,
) -> None:
    """The poller process: every ~5 ms, the counter and HMGET of the ids not yet seen.

    Sends back the time each event index was first seen applied, and the (poll start
    time, counter) samples.
    """
    client = redis.Redis.from_url(url)
    key, fields = counter
    applied_at: dict[int, float] = {}
    counts: list[tuple[float, int]] = []
    pending: list[int] = []
    seen_up_to = 0
    while not done.is_set():
        started = time.time()
        upto = published.value
        pending.extend(range(seen_up_to, upto))
        seen_up_to = upto
        with client.pipeline(transaction=False) as pipe:
            if fields:
                pipe.hmget(key, fields)
            else:
                pipe.get(key)
            window = pending[:WINDOW]
            if eid_key and window:
                pipe.hmget(eid_key, [ids[i] for i in window])
            replies = pipe.execute()
        value = replies[0]
        counts.append((started, sum(int(v or 0) for v in value) if fields else int(value or 0)))
        if len(replies) > 1:
            hits = {i for i, holder in zip(window, replies[1], strict=True) if holder is not None}
            applied_at.update(dict.fromkeys(hits, started))
            pending = [i for i in pending if i not in hits]
        time.sleep(POLL_SECONDS)
    results.send((applied_at, counts))
    client.close()


def scrape(
    url: str, scrapes: list[tuple[float, int]], done: threading.Event, interval: float
) -> None:
    while not done.is_set():
        started = time.time()
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                body = response.read()
            total = sum(int(float(v)) for _, v in METRIC.findall(body))
            scrapes.append((time.time(), total))
        except OSError:
            pass
        time.sleep(max(0.0, interval - (time.time() - started)))


def _cpu_now(url: str, consumers: list[int], serve: int | None) -> dict[str, float]:
    """CPU seconds so far of each party of a run (the harness: this process's threads,
    i.e. the producer and the scraper, and its finished children, i.e. the poller)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    busy, total = machine_busy()
    return {
        "consumer": sum(process_cpu(pid) for pid in consumers),
        "serve": process_cpu(serve) if serve is not None else 0.0,
        "redis": redis_cpu(url),
        "harness": own.ru_utime + own.ru_stime + children_cpu(),
        "machine_busy": busy,
        "machine_total": total,
    }


def cpu_split(before: dict[str, float], after: dict[str, float], events: int) -> dict[str, float]:
    """µs of CPU per published event of each party, and how busy the machine was; the
    broker and anything else running are the rest of the machine's busy time."""
    spent = {name: after[name] - before[name] for name in before}
    parties = ("consumer", "serve", "redis", "harness")
    out = {f"{name}_us": spent[name] / events * 1e6 for name in parties}
    out["rest_us"] = (spent["machine_busy"] - sum(spent[n] for n in parties)) / events * 1e6
    out["machine_busy_share"] = spent["machine_busy"] / spent["machine_total"]
    return out


def publish_steady(
    bootstrap: str,
    topic: str,
    events: list[tuple[str, bytes, bytes]],
    rate: float,
    on_send: Callable[[int], None] = lambda index: None,
) -> list[float]:
    """Send at ``rate`` events/s; the wall-clock time of each send."""
    out = producer(bootstrap, linger_ms=0)
    sent: list[float] = []
    started = time.time()
    for n, (_, key, value) in enumerate(events):
        delay = started + n / rate - time.time()
        if delay > 0:
            time.sleep(delay)
        sent.append(time.time())
        out.send(topic, key=key, value=value)
        on_send(n)
    out.flush()
    out.close()
    return sent


def by_count(sent: list[float], samples: list[tuple[float, int]], base: int) -> list[float]:
    """Latency of the k-th event: first sample where the counter grew by k, minus its send."""
    out: list[float] = []
    i = 0
    for k, at in enumerate(sent, start=1):
        while i < len(samples) and samples[i][1] - base < k:
            i += 1
        if i == len(samples):
            break
        out.append(samples[i][0] - at)
    return out


def every(samples: list[tuple[float, int]], seconds: float) -> list[tuple[float, int]]:
    out: list[tuple[float, int]] = []
    for sample in samples:
        if not out or sample[0] - out[-1][0] >= seconds:
            out.append(sample)
    return out


def summary(latencies: list[float], total: int) -> dict[str, float]:
    values = sorted(latencies)
    return {
        "p50_ms": percentile(values, 0.50) * 1000,
        "p99_ms": percentile(values, 0.99) * 1000,
        "max_ms": (values[-1] if values else float("nan")) * 1000,
        "observed": len(values),
        "published": total,
    }


def run_one(
    env: dict[str, str],
    events: list[tuple[str, bytes, bytes]],
    rate: float,
    ours: bool,
    logs: Path,
    workers: int = 1,
    scrape_seconds: float = SCRAPE_SECONDS,
) -> dict[str, dict[str, float]]:
    tag = new_tag()
    topic, namespace = f"benchlat-{tag}", f"benchlat{tag}"
    bootstrap, url = env["TTHC_KAFKA_BOOTSTRAP"], env["TTHC_REDIS_URL"]
    ensure_topics(bootstrap, {topic: PARTITIONS})
    client = redis.Redis.from_url(url)
    processes = []
    scrape_url = ""
    if ours:
        group = f"lat-{tag}"
        wenv = worker_env(env, topic, namespace, group)
        for n in range(workers):
            log = logs / f"latency-worker-{n}.log"
            processes.append(start(worker_command(), wenv, log))
        port = free_port()
        serve = start(cli("serve", "--port", str(port)), wenv, logs / "latency-serve.log")
        processes.append(serve)
        wait_for_port(port, serve, "tthc-monitor serve", 60)
        scrape_url = f"http://127.0.0.1:{port}/metrics"
        counter = (f"{namespace}:stats", ["applied", "duplicates"])
    else:
        counter = (f"{namespace}:stack", [])
        command = [sys.executable, str(ROOT / "bench" / "floors.py"), "stack", topic, tag]
        processes.append(start([*command, counter[0]], env, logs / "latency-floor.log"))

    def count() -> int:
        if counter[1]:
            return sum(int(v or 0) for v in client.hmget(*counter))
        return int(client.get(counter[0]) or 0)

    try:
        warm, timed_events = events[:WARM_UP], events[WARM_UP:]
        publish_steady(bootstrap, topic, warm, 1000)
        deadline = time.monotonic() + 120
        while count() < WARM_UP:
            if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
                raise RuntimeError(f"consumer not ready (see {logs})")
            time.sleep(0.05)
        if ours and workers > 1:
            # Every worker in the group before timing: a join mid-run would be a rebalance.
            wait_stable(bootstrap, group, workers)
        base = count()
        serve_pid = processes[-1].pid if ours else None
        consumer_pids = [p.pid for p in (processes[:-1] if ours else processes)]
        cpu_before = _cpu_now(url, consumer_pids, serve_pid)
        context = multiprocessing.get_context("fork")
        published = context.Value("q", 0, lock=False)
        done = context.Event()
        receive, send = context.Pipe(duplex=False)
        poller = context.Process(
            target=poll,
            args=(
                url,
                f"{namespace}:eid" if ours else None,
                counter,
                [e for e, _, _ in timed_events],
                published,
                done,
                send,
            ),
        )
        poller.start()
        scrapes: list[tuple[float, int]] = []
        scraper = threading.Thread(target=scrape, args=(scrape_url, scrapes, done, scrape_seconds))
        if scrape_url:
            scraper.start()
        try:

            def track(index: int) -> None:
                published.value = index + 1

            sent = publish_steady(bootstrap, topic, timed_events, rate, track)
            deadline = time.monotonic() + 120
            while count() - base < len(timed_events) and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(3 * scrape_seconds)
        finally:
            done.set()
            applied_at, counts = receive.recv()
            poller.join()
            if scrape_url:
                scraper.join()
        total = len(timed_events)
        cpu = cpu_split(cpu_before, _cpu_now(url, consumer_pids, serve_pid), total)
        starts = [at for at, _ in counts]
        gaps = sorted(b - a for a, b in itertools.pairwise(starts))
        result = {
            "cpu": cpu,
            "applied_by_count": summary(by_count(sent, counts, base), total),
            "visible_by_100ms_sampling": summary(
                by_count(sent, every(counts, scrape_seconds), base), total
            ),
            "poll_ms": {
                "median": percentile(gaps, 0.5) * 1000,
                "p99": percentile(gaps, 0.99) * 1000,
                "max": (gaps[-1] if gaps else float("nan")) * 1000,
            },
        }
        if ours:
            result["applied_exact"] = summary([at - sent[i] for i, at in applied_at.items()], total)
            result["visible_on_metrics"] = summary(by_count(sent, scrapes, base), total)
        return result
    finally:
        stop(*processes)
        client.close()
        drop_namespace(url, namespace)


def latency(
    env: dict[str, str],
    path: Path,
    rate: float,
    logs: Path,
    workers: int = 1,
    scrape_seconds: float = SCRAPE_SECONDS,
) -> dict[str, object]:
    events = load(path)
    floor = run_one(env, events, rate, ours=False, logs=logs, scrape_seconds=scrape_seconds)
    ours = run_one(
        env, events, rate, ours=True, logs=logs, workers=workers, scrape_seconds=scrape_seconds
    )
    return {
        "rate": rate,
        "scrape_seconds": scrape_seconds,
        "workers": workers,
        "events": len(events) - WARM_UP,
        "ours": ours,
        "stack_floor": floor,
    }


def report(result: dict[str, object]) -> None:
    ours = result["ours"]
    floor = result["stack_floor"]
    assert isinstance(ours, dict) and isinstance(floor, dict)
    rows = (
        ("latency_applied", ours["applied_exact"], floor["applied_by_count"]),
        ("latency_applied_by_count", ours["applied_by_count"], floor["applied_by_count"]),
        ("latency_metrics", ours["visible_on_metrics"], floor["visible_by_100ms_sampling"]),
    )
    for name, mine, base in rows:
        for q in ("p50", "p99", "max"):
            value, baseline = mine[f"{q}_ms"], base[f"{q}_ms"]
            print(
                f"{name}_{q}: {value:,.0f} ms ({ratio(value, baseline)} of stack floor "
                f"{baseline:,.0f} ms)",
                flush=True,
            )
    for label, run in (("ours", ours), ("stack floor", floor)):
        cpu = run["cpu"]
        print(
            f"latency_cpu ({label}): per event, consumer {cpu['consumer_us']:,.0f} µs, "
            f"serve {cpu['serve_us']:,.0f}, Redis {cpu['redis_us']:,.0f}, harness "
            f"{cpu['harness_us']:,.0f}, broker and rest {cpu['rest_us']:,.0f}; machine "
            f"{cpu['machine_busy_share']:.0%} busy",
            flush=True,
        )
    poll = ours["poll_ms"]
    print(
        f"latency_resolution: {poll['median']:.1f} ms median poll interval "
        f"(p99 {poll['p99']:.1f} ms; {ours['applied_exact']['observed']:,} of "
        f"{result['events']:,} events seen at {result['rate']:,.0f} events/s)",
        flush=True,
    )


def main() -> int:
    exit_on_sigterm()
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=2000.0)
    parser.add_argument("--seconds", type=float, help="steady publishing time (default 60)")
    parser.add_argument("--quick", action="store_true", help="15 s instead of 60 s")
    parser.add_argument("--workers", type=int, default=1, help="workers in one group")
    parser.add_argument(
        "--scrape-seconds",
        type=float,
        default=SCRAPE_SECONDS,
        help="how often /metrics is read (default 0.1; each read of serve costs CPU)",
    )
    args = parser.parse_args()
    seconds = args.seconds or (15.0 if args.quick else 60.0)
    embedded = Embedded()
    try:
        env = services(embedded)
        with tempfile.TemporaryDirectory() as tmp:
            path, _ = events_file(int(args.rate * seconds) + WARM_UP, Path(tmp))
            result = latency(env, path, args.rate, Path(tmp), args.workers, args.scrape_seconds)
        report(result)
        print(json.dumps(result, indent=2))
    finally:
        embedded.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
