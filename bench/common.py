"""Helpers shared by the benchmark scripts: events, topics, processes, machine facts.

Every script runs against the servers named by TTHC_KAFKA_BOOTSTRAP and TTHC_REDIS_URL
(``services`` starts the embedded ones for what is not named) and uses its own topics,
consumer groups and Redis namespace, removed afterwards.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import ACLOperation
from kafka.errors import CoordinatorNotAvailableError

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tthc_monitor.embedded import Embedded, free_port  # noqa: E402
from tthc_monitor.kafka_admin import ensure_topics  # noqa: E402

PARTITIONS = 8


def cli(*args: str) -> list[str]:
    """A ``tthc-monitor`` command line run with this interpreter."""
    return [sys.executable, "-m", "tthc_monitor.cli.main", *args]


def new_tag() -> str:
    return uuid.uuid4().hex[:8]


def services(embedded: Embedded) -> dict[str, str]:
    """The environment for subprocesses: the named servers, else embedded ones."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    if not env.get("TTHC_KAFKA_BOOTSTRAP"):
        env["TTHC_KAFKA_BOOTSTRAP"] = embedded.start_tansu()
        env["BENCH_KAFKA_KIND"] = "tansu (embedded)"
    if not env.get("TTHC_REDIS_URL"):
        env["TTHC_REDIS_URL"] = embedded.start_redis()
    return env


def simulate_month(folder: Path) -> Path:
    """The April 2022 scenario (180,877 events), written once per folder."""
    base = folder / "month.jsonl"
    if not base.exists():
        subprocess.run(
            cli("simulate", "quangtri-2022-04", "--out", str(base)),
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
    return base


def events_file(target: int, folder: Path) -> tuple[Path, int]:
    """The April 2022 mix repeated with fresh ids (suffix ``-c{copy}``) up to ``target``."""
    lines = simulate_month(folder).read_bytes().splitlines()
    out = folder / f"events-{target}.jsonl"
    written = 0
    with out.open("wb") as handle:
        copy = 0
        while written < target:
            suffix = f"-c{copy}"
            for line in lines:
                if written == target:
                    break
                event = json.loads(line)
                event["event_id"] += suffix
                event["dossier_id"] += suffix
                handle.write(json.dumps(event, ensure_ascii=False).encode() + b"\n")
                written += 1
            copy += 1
    return out, written


def producer(bootstrap: str, linger_ms: int = 20) -> KafkaProducer:
    return KafkaProducer(
        bootstrap_servers=bootstrap,
        linger_ms=linger_ms,
        batch_size=512 * 1024,
        acks=1,
        compression_type=None,
    )


def produce(bootstrap: str, topic: str, path: Path) -> float:
    """Publish every line of ``path`` (key: its dossier id); seconds taken."""
    ensure_topics(bootstrap, {topic: PARTITIONS})
    out = producer(bootstrap)
    started = time.perf_counter()
    with path.open("rb") as handle:
        for line in handle:
            key = json.loads(line)["dossier_id"].encode()
            out.send(topic, key=key, value=line.rstrip(b"\n"))
    out.flush()
    out.close()
    return time.perf_counter() - started


def timed(
    read: Callable[[], int],
    total: int,
    processes: list[subprocess.Popen[bytes]],
    timeout: float,
    stall: float = 120.0,
) -> float:
    """Events/s from the first event counted to the last; fails after ``stall`` seconds
    without progress once counting started (a consumer retrying an error forever)."""
    first: tuple[float, int] | None = None
    last = (time.perf_counter(), 0)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        count = read()
        now = time.perf_counter()
        if count and first is None:
            first = (now, count)
        if count != last[1]:
            last = (now, count)
        elif first is not None and now - last[0] > stall:
            raise RuntimeError(f"no progress for {stall:.0f} s at {count} of {total} events")
        if count >= total and first is not None:
            span = now - first[0]
            return (total - first[1]) / span if span > 0 else float("inf")
        for process in processes:
            if process.poll() is not None:
                raise RuntimeError(f"consumer exited with {process.returncode}")
        time.sleep(0.05)
    raise TimeoutError(f"only {read()} of {total} events after {timeout:.0f} s")


def exit_on_sigterm() -> None:
    """SIGTERM raises SystemExit, so ``finally`` blocks stop what the script started."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def worker_env(env: dict[str, str], topic: str, namespace: str, group: str) -> dict[str, str]:
    """A worker's settings for a private topic, namespace and consumer group."""
    return env | {
        "TTHC_TOPIC": topic,
        "TTHC_DLQ_TOPIC": f"{topic}-dlq",
        "TTHC_ALERTS_TOPIC": f"{topic}-alerts",
        "TTHC_NAMESPACE": namespace,
        "TTHC_CONSUMER_GROUP": group,
        "TTHC_PARTITIONS": str(PARTITIONS),
    }


def worker_command() -> list[str]:
    return cli("worker", "--web-port", str(free_port()), "--loglevel", "warning")


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as handle:
        return subprocess.Popen(command, env=env, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT)


def stop(*processes: subprocess.Popen[bytes]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def applied_count(client: redis.Redis, namespace: str) -> int:
    """Events a worker has processed: ``applied`` (incl. refused) plus ``duplicates``."""
    values = client.hmget(f"{namespace}:stats", ["applied", "duplicates"])
    return sum(int(v or 0) for v in values)


def drop_namespace(url: str, namespace: str) -> None:
    client = redis.Redis.from_url(url)
    batch: list[bytes] = []
    for key in client.scan_iter(f"{namespace}:*", count=5000):
        batch.append(key)
        if len(batch) >= 5000:
            client.unlink(*batch)
            batch.clear()
    if batch:
        client.unlink(*batch)
    client.close()


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list, q in [0, 1]."""
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def kafka_kind(env: dict[str, str]) -> str:
    """Apache Kafka (with its version) or tansu: the process listening on the bootstrap
    port says which (another broker may run on the machine for another purpose)."""
    if env.get("BENCH_KAFKA_KIND"):
        return env["BENCH_KAFKA_KIND"]
    bootstrap = env.get("TTHC_KAFKA_BOOTSTRAP", "")
    port = bootstrap.split(",")[0].rsplit(":", 1)[-1]
    try:
        listing = subprocess.run(
            ["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True, check=False
        ).stdout
    except OSError:
        listing = ""
    for pid in re.findall(r"pid=(\d+)", listing):
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "kafka.Kafka" in args:
            version = re.search(r"kafka[_-](?:2\.\d+-)?(\d+\.\d+\.\d+)", args)
            return f"Apache Kafka {version.group(1) if version else '?'}"
        if "tansu" in args:
            return "tansu"
    return f"unknown broker at {bootstrap}"


def machine() -> dict[str, object]:
    memory_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory_kib = int(line.split()[1])
    return {
        "cores": os.cpu_count(),
        "nproc": int(subprocess.run(["nproc"], capture_output=True, text=True).stdout or 0),
        "memory_gib": round(memory_kib / 2**20, 1),
        "python": sys.version.split()[0],
    }


def commit() -> str:
    """HEAD, with ``+dirty`` when the code under test (outside bench/) has changes."""
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return f"{head}+dirty" if dirty else head


def text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def ratio(value: float, baseline: float) -> str:
    return f"{value / baseline:.2f}" if baseline else "n/a"


class GroupAdmin(KafkaAdminClient):  # type: ignore[misc]  # kafka-python has no types
    """``KafkaAdminClient`` whose ``describe_groups`` also reads tansu's answer.

    kafka-python 3.0.12 always asks DescribeGroups (v3+; v5 is what tansu offers) for the
    group's authorized operations and turns every bit set in the answer into an
    ``ACLOperation``, which names bits 3-14 only. Apache Kafka sets only bits of
    operations it knows; tansu answers -1 (all 32 bits), asked or not, so bit 15 raised
    ``ValueError: 15 is not a valid ACLOperation``. Bits that name no operation are
    dropped here: Apache Kafka sends none, so its answers are read as before, and the
    group's state and members, all the bench reads, are untouched either way.
    """

    def _process_acl_operations(self, obj: dict[str, Any]) -> dict[str, Any]:
        operations = obj.get("authorized_operations")
        if operations is not None:
            known = {op.value for op in ACLOperation} - {
                ACLOperation.UNKNOWN,
                ACLOperation.ANY,
                ACLOperation.ALL,
            }
            obj["authorized_operations"] = sorted(
                ACLOperation(bit).name for bit in operations if bit in known
            )
        return obj


def wait_stable(bootstrap: str, group: str, members: int, timeout: float = 180.0) -> float:
    """Seconds until the group is Stable with ``members`` members."""
    admin = GroupAdmin(bootstrap_servers=bootstrap, client_id="bench-group")
    started = time.monotonic()
    try:
        while time.monotonic() - started < timeout:
            try:
                info = admin.describe_groups([group]).get(group, {})
            except CoordinatorNotAvailableError:  # the group's coordinator is being chosen
                info = {}
            if info.get("group_state") == "Stable" and len(info.get("members", ())) == members:
                return time.monotonic() - started
            time.sleep(0.5)
    finally:
        admin.close()
    raise TimeoutError(f"group {group} not Stable with {members} members in {timeout:.0f} s")
