"""Change data capture latency: a row written in PostgreSQL → its figure on ``/metrics``.

    python bench/cdc_latency.py [--rounds 30] [--poll-ms 20]

The whole capture path runs on real programs, started by the project's own scripts:
``scripts/services.sh up`` (Apache Kafka, Redis) and ``scripts/cdc.sh up`` (PostgreSQL
with the sample one-stop schema, Kafka Connect with Debezium), then a ``tthc-monitor
worker``, the translator (``tthc-monitor cdc translate`` with
examples/one-stop/mapping.toml) and ``tthc-monitor serve``. Ports and the state folder
come from TTHC_KAFKA_PORT, TTHC_REDIS_PORT, TTHC_PG_PORT, TTHC_CONNECT_PORT and
TTHC_RUN_DIR (free ports and a fresh folder under /tmp when unset); what this script
started is stopped at the end, what was already running is reused and left running (its
database, connector and replication slot for this run are removed).

Each round, on a fresh dossier of one unit:

* **received**: one ``INSERT`` of a dossier row with its reception columns, as a clerk
  saving the intake form; the figure is ``tthc_received_dossiers`` of that unit (summed
  over its labels) going up by one;
* **resolved**: one ``UPDATE`` of that row to status ``'10'`` (result returned); the
  figure is ``tthc_resolved_dossiers`` of that unit going up by one.

Each step first waits a random 0–500 ms (see ``PAUSE``). The clock starts just before
the statement is sent (autocommit: the statement is its own transaction) and stops at
the end of the first ``GET /metrics`` showing the new figure; ``/metrics`` is read every
``--poll-ms`` (20 ms) or back to back when a read takes longer, so a figure is seen late
by at most one interval plus one read (the median read time is printed). Each step must also move
``tthc_pipeline_events_total{outcome="applied"}`` by exactly one and no dead letter, else
the run fails: a row the mapping read wrongly would not be a latency.

Baseline: the same two steps of another fresh dossier published as contract events
straight to the events topic (what a system that speaks the contract does), timed from
just before ``send()`` to ``/metrics`` the same way. The difference is what Debezium and
the translator add. A warm-up dossier goes through both paths first, so that consumer
groups have joined and the connector streams.

The timestamps are April 2022 local times (the units of the bundled reference data are in
force then); the all-time gauges do not depend on the month shown.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg

from bench.common import (
    ROOT,
    cli,
    commit,
    drop_namespace,
    exit_on_sigterm,
    machine,
    new_tag,
    percentile,
    producer,
    ratio,
    start,
    stop,
    worker_command,
    worker_env,
)
from tthc_monitor.embedded import free_port, wait_for_port
from tthc_monitor.kafka_admin import ensure_topics

SERVICES = ROOT / "scripts" / "services.sh"
CDC = ROOT / "scripts" / "cdc.sh"
MAPPING = ROOT / "examples" / "one-stop" / "mapping.toml"
UNIT = "ban-dan-toc"
PROCEDURE = "qt.ban-dan-toc.001"
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
FIRST_RECEIVED = datetime(2022, 4, 5, 8, 0)
"""Local wall-clock time of the first dossier; each next one a minute later."""
STEP_TIMEOUT = 120.0
PAUSE = 0.5
"""A step waits a random 0..PAUSE s first: rows change at random instants, not in step
with a cadence of the path (Debezium's poll.interval.ms is 500 ms, the worker's batch
window 50 ms), which back-to-back writes would hit at the same phase every time."""
WARM_UP_TIMEOUT = 300.0
SAMPLE = re.compile(r"^(tthc_\w+)\{([^}]*)\} (\S+)$", re.M)
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
STEPS = ("received", "resolved")


@dataclass(frozen=True)
class Figures:
    """What one ``/metrics`` read shows of the benchmark's unit."""

    received: float
    resolved: float
    applied: float
    dead_letters: float

    def of(self, step: str) -> float:
        return self.received if step == "received" else self.resolved


def parse(body: str) -> Figures:
    sums = {"received": 0.0, "resolved": 0.0, "applied": 0.0, "dead_letter": 0.0}
    for name, labels, value in SAMPLE.findall(body):
        tags = dict(LABEL.findall(labels))
        if name == "tthc_received_dossiers" and tags.get("unit") == UNIT:
            sums["received"] += float(value)
        elif name == "tthc_resolved_dossiers" and tags.get("unit") == UNIT:
            sums["resolved"] += float(value)
        elif name == "tthc_pipeline_events_total" and tags.get("outcome") in sums:
            sums[tags["outcome"]] += float(value)
    return Figures(sums["received"], sums["resolved"], sums["applied"], sums["dead_letter"])


@dataclass
class Scraper:
    url: str
    interval: float
    durations: list[float] = field(default_factory=list)

    def read(self) -> tuple[Figures, float]:
        """The figures and the wall-clock time the read ended."""
        started = time.perf_counter()
        with urllib.request.urlopen(self.url, timeout=10) as response:
            body = response.read().decode()
        ended = time.perf_counter()
        self.durations.append(ended - started)
        return parse(body), ended

    def wait_for(
        self, step: str, before: Figures, timeout: float, alive: Callable[[], None]
    ) -> tuple[Figures, float]:
        """Poll until the step's gauge moved; the figures and when the read ended."""
        deadline = time.monotonic() + timeout
        while True:
            started = time.perf_counter()
            now, ended = self.read()
            if now.of(step) > before.of(step):
                return now, ended
            if time.monotonic() > deadline:
                raise TimeoutError(f"{step}: /metrics unchanged after {timeout:.0f} s: {now}")
            alive()
            time.sleep(max(0.0, self.interval - (time.perf_counter() - started)))


# ---------------------------------------------------------------------------------------
# the stack, from the project's scripts


def script(path: Path, args: list[str], env: dict[str, str]) -> dict[str, str]:
    """Run services.sh / cdc.sh; its ``NAME=value`` lines of stdout."""
    result = subprocess.run(
        ["bash", str(path), *args], env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"{path.name} {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)


@dataclass
class Stack:
    env: dict[str, str]
    """Environment of the scripts (ports, run dir)."""
    kafka: str
    redis_url: str
    pg_dsn: str
    connect_url: str


@contextmanager
def stack() -> Iterator[Stack]:
    """Kafka and Redis from services.sh, PostgreSQL and Kafka Connect from cdc.sh; on exit
    stops what this call started (and the run dir when it made it)."""
    made_dir = not os.environ.get("TTHC_RUN_DIR")
    run_dir = os.environ.get("TTHC_RUN_DIR") or tempfile.mkdtemp(prefix="tthc-cdc-bench-")
    # PostgreSQL runs as the postgres user when this runs as root: it must enter the dir.
    os.chmod(run_dir, 0o755)
    env = dict(
        os.environ,
        TTHC_RUN_DIR=run_dir,
        TTHC_KAFKA_PORT=os.environ.get("TTHC_KAFKA_PORT") or str(free_port()),
        TTHC_REDIS_PORT=os.environ.get("TTHC_REDIS_PORT") or str(free_port()),
        TTHC_PG_PORT=os.environ.get("TTHC_PG_PORT") or str(free_port()),
        TTHC_CONNECT_PORT=os.environ.get("TTHC_CONNECT_PORT") or str(free_port()),
        TTHC_CDC_REGISTER="0",
        PYTHON=sys.executable,
    )
    services_started: list[str] = []
    cdc_started: list[str] = []
    try:
        out = script(SERVICES, ["up"], env)
        services_started = [s for s in out.get("TTHC_SERVICES_STARTED", "").split(",") if s]
        cdc = script(CDC, ["up"], env)
        cdc_started = [s for s in cdc.get("TTHC_CDC_STARTED", "").split(",") if s]
        yield Stack(
            env,
            out["TTHC_KAFKA_BOOTSTRAP"],
            out["TTHC_REDIS_URL"],
            cdc["TTHC_PG_DSN"],
            cdc["TTHC_CONNECT_URL"],
        )
    finally:
        if cdc_started:
            subprocess.run(["bash", str(CDC), "down", *cdc_started], env=env, check=False)
        if services_started:
            subprocess.run(["bash", str(SERVICES), "down", *services_started], env=env, check=False)
        if made_dir:
            shutil.rmtree(run_dir, ignore_errors=True)


def rest(url: str, method: str = "GET") -> Any:
    request = urllib.request.Request(url, method=method)
    with urllib.request.urlopen(request, timeout=60) as response:
        body = response.read()
    return json.loads(body) if body else None


@dataclass(frozen=True)
class Capture:
    """One database, connector, slot and topic prefix for this run."""

    database: str
    connector: str
    slot: str
    prefix: str


@contextmanager
def capture(s: Stack, tag: str) -> Iterator[Capture]:
    c = Capture(f"bench_{tag}", f"bench-{tag}", f"bench_{tag}", f"bench{tag}")
    script(CDC, ["createdb", c.database], s.env)
    try:
        script(
            CDC,
            ["register"],
            s.env
            | {
                "TTHC_CDC_CONNECTOR": c.connector,
                "TTHC_CDC_TOPIC_PREFIX": c.prefix,
                "TTHC_CDC_SLOT": c.slot,
                "TTHC_CDC_DATABASE": c.database,
            },
        )
        yield c
    finally:
        remove_capture(s, c)


def remove_capture(s: Stack, c: Capture) -> None:
    """Delete the connector, drop its slot (a slot nobody reads keeps WAL: docs/cdc.md)
    and the database, for a PostgreSQL this run did not start and so does not wipe."""
    try:
        rest(f"{s.connect_url}/connectors/{c.connector}", "DELETE")
    except OSError as error:
        print(f"# connector {c.connector} not deleted: {error}", file=sys.stderr)
    base = s.pg_dsn.rsplit("/", 1)[0]
    password = os.environ.get("TTHC_PG_CDC_PASSWORD", "cdc-dev")
    replication = re.sub(r"//[^@]*@", f"//tthc_cdc:{password}@", base) + f"/{c.database}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with psycopg.connect(replication, autocommit=True) as conn:
                conn.execute(
                    "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots"
                    " WHERE slot_name = %s",
                    (c.slot,),
                )
            break
        except psycopg.Error as error:
            # The slot stays active until the deleted connector's task has stopped.
            if time.monotonic() > deadline:
                print(f"# slot {c.slot} not dropped: {error}", file=sys.stderr)
                return
            time.sleep(1)
    try:
        with psycopg.connect(s.pg_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{c.database}"')
    except psycopg.Error as error:
        print(f"# database {c.database} not dropped: {error}", file=sys.stderr)


# ---------------------------------------------------------------------------------------
# the two paths of one step


def local(at: datetime) -> str:
    return at.replace(tzinfo=ZONE).isoformat()


class RowWriter:
    """The application: writes the sample schema's dossier row."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    def __call__(self, step: str, dossier: str, received: datetime) -> None:
        if step == "received":
            self.conn.execute(
                "INSERT INTO dossier (dossier_code, unit_code, procedure_code, channel_code,"
                " status_code, received_at, appointment_at, holder_unit_code, created_at)"
                " VALUES (%s, %s, %s, '1', '2', %s, %s, %s, %s)",
                (dossier, UNIT, PROCEDURE, received, received + timedelta(days=14), UNIT, received),
            )
        else:
            returned = received + timedelta(days=2)
            self.conn.execute(
                "UPDATE dossier SET status_code = '10', result_code = '1', finished_at = %s,"
                " returned_at = %s, updated_at = %s WHERE dossier_code = %s",
                (returned, returned, returned, dossier),
            )


class EventWriter:
    """The baseline: the same step as a contract event published to the events topic."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.topic = topic
        self.out = producer(bootstrap, linger_ms=0)

    def __call__(self, step: str, dossier: str, received: datetime) -> None:
        event: dict[str, Any] = {
            "schema_version": 1,
            "event_id": f"{dossier}-{step}",
            "dossier_id": dossier,
            "type": step,
            "unit_id": UNIT,
        }
        if step == "received":
            event |= {
                "occurred_at": local(received),
                "procedure_id": PROCEDURE,
                "channel": "direct",
                "due_at": local(received + timedelta(days=14)),
            }
        else:
            event |= {"occurred_at": local(received + timedelta(days=2)), "result": "approved"}
        self.out.send(self.topic, key=dossier.encode(), value=json.dumps(event).encode())
        self.out.flush()

    def close(self) -> None:
        self.out.close()


Writer = Callable[[str, str, datetime], None]


def one_dossier(
    write: Writer,
    scraper: Scraper,
    dossier: str,
    received: datetime,
    timeout: float,
    alive: Callable[[], None],
) -> dict[str, float]:
    """Seconds from the write to /metrics, per step; checks that each step was one event
    applied and no dead letter."""
    out: dict[str, float] = {}
    for step in STEPS:
        time.sleep(random.uniform(0, PAUSE))
        before, _ = scraper.read()
        started = time.perf_counter()
        write(step, dossier, received)
        after, seen = scraper.wait_for(step, before, timeout, alive)
        out[step] = seen - started
        if (
            after.of(step) != before.of(step) + 1
            or after.applied != before.applied + 1
            or after.dead_letters != before.dead_letters
        ):
            raise RuntimeError(f"{dossier} {step}: expected one figure more, {before} → {after}")
    return out


# ---------------------------------------------------------------------------------------


def measure(rounds: int, interval: float, logs: Path) -> dict[str, Any]:
    tag = new_tag()
    with stack() as s, capture(s, tag) as c:
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        env |= {"TTHC_KAFKA_BOOTSTRAP": s.kafka, "TTHC_REDIS_URL": s.redis_url}
        topic, namespace = f"benchcdc-{tag}", f"benchcdc{tag}"
        wenv = worker_env(env, topic, namespace, f"cdc-{tag}")
        ensure_topics(s.kafka, {topic: int(wenv["TTHC_PARTITIONS"])})
        mapping = logs / "mapping.toml"
        mapping.write_text(
            MAPPING.read_text(encoding="utf-8").replace(
                'topic_prefix = "onestop"', f'topic_prefix = "{c.prefix}"'
            ),
            encoding="utf-8",
        )
        port = free_port()
        processes = [
            start(worker_command(), wenv, logs / "worker.log"),
            start(
                cli("cdc", "translate", "--mapping", str(mapping), "--loglevel", "warning"),
                wenv,
                logs / "translator.log",
            ),
            start(cli("serve", "--port", str(port)), wenv, logs / "serve.log"),
        ]

        def alive() -> None:
            for process in processes:
                if process.poll() is not None:
                    raise RuntimeError(f"{process.args!r} exited; logs in {logs}")

        database = s.pg_dsn.rsplit("/", 1)[0] + "/" + c.database
        events = EventWriter(s.kafka, topic)
        try:
            wait_for_port(port, processes[2], "tthc-monitor serve", 60)
            scraper = Scraper(f"http://127.0.0.1:{port}/metrics", interval)
            with psycopg.connect(database, autocommit=True) as conn:
                rows = RowWriter(conn)
                paths: dict[str, Writer] = {"cdc": rows, "direct": events}
                at = FIRST_RECEIVED
                for name, write in paths.items():
                    one_dossier(write, scraper, f"BENCH-{tag}-{name}-W", at, WARM_UP_TIMEOUT, alive)
                scraper.durations.clear()
                times: dict[str, dict[str, list[float]]] = {
                    name: {step: [] for step in STEPS} for name in paths
                }
                for n in range(rounds):
                    at = FIRST_RECEIVED + timedelta(minutes=n + 1)
                    for name, write in paths.items():
                        dossier = f"BENCH-{tag}-{name}-{n:04d}"
                        got = one_dossier(write, scraper, dossier, at, STEP_TIMEOUT, alive)
                        for step, seconds in got.items():
                            times[name][step].append(seconds)
        finally:
            events.close()
            stop(*processes)
            drop_namespace(s.redis_url, namespace)
    return {
        "rounds": rounds,
        "poll_ms": interval * 1000,
        "scrape_ms_median": statistics.median(scraper.durations) * 1000,
        "cdc": {step: summary(values) for step, values in times["cdc"].items()},
        "direct": {step: summary(values) for step, values in times["direct"].items()},
    }


def summary(seconds: list[float]) -> dict[str, float]:
    values = sorted(seconds)
    return {
        "p50_ms": statistics.median(values) * 1000,
        "p95_ms": percentile(values, 0.95) * 1000,
        "p99_ms": percentile(values, 0.99) * 1000,
        "min_ms": values[0] * 1000,
        "max_ms": values[-1] * 1000,
    }


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def report(result: dict[str, Any]) -> None:
    for step in STEPS:
        mine, base = result["cdc"][step], result["direct"][step]
        for q in ("p50", "p95", "p99", "max"):
            value, baseline = mine[f"{q}_ms"], base[f"{q}_ms"]
            print(
                f"cdc_latency_{step}_{q}: {value:,.0f} ms ({ratio(value, baseline)} of "
                f"direct publish {baseline:,.0f} ms)",
                flush=True,
            )
    print(
        f"cdc_latency_resolution: /metrics read every {result['poll_ms']:.0f} ms, one read "
        f"{result['scrape_ms_median']:.1f} ms median ({result['rounds']} rounds; "
        f"nearest rank: p99 of fewer than 100 is the maximum)",
        flush=True,
    )


def main() -> int:
    exit_on_sigterm()
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=30, help="dossiers per path (30)")
    parser.add_argument("--poll-ms", type=float, default=20.0, help="/metrics read interval")
    parser.add_argument("--json", type=Path, help="also write the result here")
    parser.add_argument("--seed", type=int, default=1, help="of the random pauses")
    args = parser.parse_args()
    random.seed(args.seed)
    facts = {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "commit": commit(),
        "machine": machine() | {"cpu": cpu_model(), "load": os.getloadavg()},
    }
    print(f"# {facts['date']}, commit {facts['commit']}, {facts['machine']}", flush=True)
    with tempfile.TemporaryDirectory(prefix="tthc-cdc-bench-logs-") as tmp:
        try:
            result = measure(args.rounds, args.poll_ms / 1000, Path(tmp))
        except Exception:
            for log in sorted(Path(tmp).glob("*.log")):
                print(f"----- {log.name} -----\n{log.read_text(errors='replace')[-3000:]}")
            raise
    report(result)
    document = facts | {"result": result}
    if args.json:
        args.json.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(document, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
