"""The fault suite's harness: real Apache Kafka and Redis, a clean reference, exact checks.

Every case ends with :func:`assert_same_state`: the snapshot JSON of the periods the
stream covers (the month and the land quarter) and every counter hash must equal, to
the last field, those of a clean ``tthc-monitor replay`` of the same events into a
namespace of its own (computed once per session and set of events).

The shared Kafka and Redis (scripts/services.sh, reused from tests/integration) carry
the cases that do not restart a service; the cases that do start private servers
(:class:`PrivateRedis`, :class:`PrivateKafka`), so the others are never disturbed.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
from kafka import KafkaProducer

from tests.integration.conftest import ROOT, Env, Services, services  # noqa: F401 (fixture)
from tthc_monitor.config import Settings
from tthc_monitor.embedded import free_port, redis_server_binary
from tthc_monitor.kafka_admin import end_offsets, ensure_topics

# What the snapshot comparison covers: (period, months). The month's stream also has
# dossiers received from October 2021, which the land quarter's carried-over figures
# and the raw counter comparison include.
COMPARED: tuple[tuple[str, int], ...] = (("2022-04", 1), ("2022-03", 1), ("2022-03", 3))

Lines = list[bytes]
CLI = (sys.executable, "-m", "tthc_monitor.cli.main")


# ---------------------------------------------------------------- the events
@pytest.fixture(scope="session")
def month(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Quảng Trị April 2022 stream (180,877 events), as `simulate` writes it."""
    out = tmp_path_factory.mktemp("month") / "quangtri-2022-04.jsonl"
    subprocess.run(
        [*CLI, "simulate", "quangtri-2022-04", "--out", str(out)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=300,
    )
    return out


@pytest.fixture(scope="session")
def month_lines(month: Path) -> Lines:
    return [line for line in month.read_bytes().splitlines() if line.strip()]


def dossier_of(line: bytes) -> str:
    dossier: str = json.loads(line)["dossier_id"]
    return dossier


def bucket(dossier_id: str, buckets: int) -> int:
    """A stable bucket of a dossier (not Python's salted hash)."""
    return int.from_bytes(hashlib.sha256(dossier_id.encode()).digest()[:4], "big") % buckets


def subset(lines: Lines, one_in: int, salt: int = 0) -> Lines:
    """Every event of about one dossier in ``one_in``, in stream order: complete dossiers,
    so the subset is a stream of its own with the month's mix of cases."""
    return [line for line in lines if bucket(dossier_of(line), one_in) == salt % one_in]


# ---------------------------------------------------------------- reference and checks
@dataclass
class State:
    snapshots: dict[str, dict[str, Any]]
    counters: dict[str, dict[str, int]]
    global_: dict[str, int]

    def differences(self, other: State) -> list[str]:
        problems = [
            f"snapshot {k} differs"
            for k in self.snapshots
            if self.snapshots[k] != other.snapshots.get(k)
        ]
        for period in sorted(set(self.counters) | set(other.counters)):
            mine, theirs = self.counters.get(period, {}), other.counters.get(period, {})
            for name in sorted(set(mine) | set(theirs)):
                if mine.get(name) != theirs.get(name):
                    problems.append(f"{period} {name}: {mine.get(name)} != {theirs.get(name)}")
        if self.global_ != other.global_:
            problems.append(f"global counters: {self.global_} != {other.global_}")
        return problems


def read_state(redis_url: str, namespace: str) -> State:
    """Snapshots of COMPARED and every counter hash, read as `snapshot` reads them."""
    from tthc_monitor.cli.snapshot import read_snapshot
    from tthc_monitor.store.redis_store import DossierStore

    settings = Settings(redis_url=redis_url, namespace=namespace)

    async def read() -> State:
        documents = {}
        for period, months in COMPARED:
            document = await read_snapshot(settings, redis_url, period, months)
            document.pop("as_of", None)  # the time of reading, not a figure
            documents[f"{period}x{months}"] = document
        client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
        try:
            store = DossierStore(client, settings.engine, namespace)
            return State(documents, await store.read_counters(), await store.read_global())
        finally:
            await client.aclose()

    return asyncio.run(read())


class References:
    """Clean runs: `tthc-monitor replay` of a set of events into a namespace of its own.

    ``start`` runs the replay in the background (a case can start its references, then
    run its faults meanwhile); ``of`` waits for it and reads the state.
    """

    def __init__(self, shared: Services, tmp: Path) -> None:
        self.services = shared
        self.tmp = tmp
        self.cache: dict[str, tuple[State, dict[str, int]]] = {}
        self.running: dict[str, tuple[subprocess.Popen[bytes], str]] = {}

    @staticmethod
    def _digest(lines: Lines) -> str:
        return hashlib.sha256(b"\n".join(lines)).hexdigest()[:16]

    def start(self, lines: Lines) -> None:
        digest = self._digest(lines)
        if digest in self.cache or digest in self.running:
            return
        source = self.tmp / f"reference-{digest}.jsonl"
        source.write_bytes(b"\n".join(lines) + b"\n")
        namespace = f"ref{uuid.uuid4().hex[:8]}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("TTHC_")}
        env.update(
            PYTHONPATH=str(ROOT),
            TTHC_REDIS_URL=self.services.redis_url,
            TTHC_NAMESPACE=namespace,
        )
        process = subprocess.Popen(
            [sys.executable, "-m", "tthc_monitor.cli.main", "replay", str(source)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.running[digest] = (process, namespace)

    def of(self, lines: Lines) -> tuple[State, dict[str, int]]:
        """The clean state of ``lines`` and the replay's statistics (applied, ...)."""
        digest = self._digest(lines)
        if digest not in self.cache:
            self.start(lines)
            process, namespace = self.running.pop(digest)
            _, errors = process.communicate(timeout=900)
            assert process.returncode == 0, errors.decode(errors="replace")[-3000:]
            client = redis.Redis.from_url(self.services.redis_url, decode_responses=True)
            state = read_state(self.services.redis_url, namespace)
            raw: dict[str, str] = client.hgetall(f"{namespace}:stats")  # type: ignore[assignment]
            stats = {k: int(v) for k, v in raw.items()}
            delete_namespace(client, namespace)
            self.cache[digest] = (state, stats)
        return self.cache[digest]


@pytest.fixture(scope="session")
def references(
    services: Services,  # noqa: F811 - the fixture imported above
    tmp_path_factory: pytest.TempPathFactory,
) -> References:
    return References(services, tmp_path_factory.mktemp("references"))


def delete_namespace(client: redis.Redis, namespace: str) -> None:
    keys = list(client.scan_iter(f"{namespace}:*", count=1000))
    for start in range(0, len(keys), 500):
        client.delete(*keys[start : start + 500])


def assert_same_state(env: Env, reference: State) -> None:
    got = read_state(env.services.redis_url, env.namespace)
    problems = got.differences(reference)
    assert not problems, "not the clean run's state:\n" + "\n".join(problems[:40])


# ---------------------------------------------------------------- Kafka helpers
def produce(
    kafka: str, topic: str, lines: Lines, keys: list[bytes | None] | None = None
) -> list[tuple[int, int]]:
    """Publish raw lines (keyed by dossier when readable); returns (partition, offset)."""
    producer = KafkaProducer(
        bootstrap_servers=kafka,
        acks="all",
        linger_ms=20,
        batch_size=256 * 1024,
        max_request_size=4 * 1024 * 1024,
    )
    futures = []
    for index, line in enumerate(lines):
        if keys is not None:
            key = keys[index]
        else:
            try:
                key = dossier_of(line).encode()
            except (ValueError, KeyError, TypeError):
                key = b"unreadable"
        futures.append(producer.send(topic, key=key, value=line))
    producer.flush()
    placed = [(f.get(60).partition, f.get(60).offset) for f in futures]
    producer.close()
    return placed


def progress_reached(env: Env) -> bool:
    targets = {p: e for p, e in end_offsets(env.services.kafka, env.topic).items() if e}
    progress = env.redis().hgetall(f"{env.namespace}:progress")
    return all(int(progress.get(f"{env.topic}:{p}", 0)) >= end for p, end in targets.items())


def wait_applied(env: Env, timeout: float = 300, check: bool = True) -> float:
    """Until the recorded progress reaches every partition's end; returns the seconds."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if progress_reached(env):
                return time.monotonic() - started
        except (redis.ConnectionError, OSError):
            pass  # a service of the case is restarting
        if check:
            env.check_workers()
        time.sleep(0.25)
    raise AssertionError(f"not applied within {timeout} s\n{env.tail()}")


def wait_for(what: str, predicate: Callable[[], bool], env: Env, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except (redis.ConnectionError, OSError):
            pass
        env.check_workers()
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}\n{env.tail()}")


def applied(env: Env) -> int:
    return int(env.redis().hget(f"{env.namespace}:stats", "applied") or 0)


def kill(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(30)


# ---------------------------------------------------------------- private servers
@dataclass
class PrivateRedis:
    """A redis-server of one case, persisting with AOF (fsync at every write)."""

    directory: Path
    port: int = field(default_factory=free_port)
    aof: bool = True
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        persistence = (
            ["--appendonly", "yes", "--appendfsync", "always"]
            if self.aof
            else ["--appendonly", "no"]
        )
        log = (self.directory / f"redis-{self.starts}.log").open("wb")
        self.starts += 1
        self.process = subprocess.Popen(
            [
                redis_server_binary(),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--dir",
                str(self.directory),
                *persistence,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        client = redis.Redis(port=self.port)
        while True:
            try:
                if client.ping():
                    return
            except redis.exceptions.BusyLoadingError:
                pass  # replaying the AOF
            except redis.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"private redis did not start on {self.port}") from None
            time.sleep(0.05)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def shutdown(self) -> None:
        """SHUTDOWN: Redis fsyncs the AOF and exits."""
        assert self.process is not None
        # The connection closes as it exits.
        with contextlib.suppress(redis.ConnectionError):
            redis.Redis(port=self.port).shutdown(nosave=False)
        self.process.wait(30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class PrivateKafka:
    """An Apache Kafka broker of one case, started by scripts/services.sh in a run dir of
    its own; restarted on the same data directory with the command line it ran with."""

    run_dir: Path
    port: int = 0
    redis_port: int = 0
    command: list[str] = field(default_factory=list)
    pid: int = 0
    restarted: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _env(self) -> dict[str, str]:
        python = str(Path(sys.executable))
        return dict(
            os.environ,
            TTHC_RUN_DIR=str(self.run_dir),
            TTHC_KAFKA_PORT=str(self.port),
            TTHC_REDIS_PORT=str(self.redis_port),
            PYTHON=python,
        )

    def up(self) -> str:
        """Start broker and Redis; returns the Redis URL."""
        while True:
            self.port = free_port()
            if self.port < 65000 and _port_free(self.port + 1):
                break
        self.redis_port = free_port()
        out = subprocess.run(
            [str(ROOT / "scripts" / "services.sh"), "up"],
            env=self._env(),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=240,
            check=True,
        ).stdout
        exports = dict(line.split("=", 1) for line in out.split() if "=" in line)
        pid_file = self.run_dir / "services" / "kafka.pid"
        self.pid = int(pid_file.read_text().split()[0])
        self.command = Path(f"/proc/{self.pid}/cmdline").read_bytes().decode().split("\0")[:-1]
        return exports["TTHC_REDIS_URL"]

    def stop(self, sig: signal.Signals) -> None:
        os.kill(self.pid, sig)
        deadline = time.monotonic() + 60
        while _alive(self.pid):
            if time.monotonic() > deadline:
                os.kill(self.pid, signal.SIGKILL)
            time.sleep(0.1)
        if self.restarted is not None:
            self.restarted.wait(30)

    def start_again(self) -> None:
        log = (self.run_dir / "services" / "kafka" / "logs" / "restart.log").open("ab")
        self.restarted = subprocess.Popen(
            self.command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.pid = self.restarted.pid

    def down(self) -> None:
        if self.restarted is not None and self.restarted.poll() is None:
            self.restarted.terminate()
            try:
                self.restarted.wait(60)
            except subprocess.TimeoutExpired:
                self.restarted.kill()
                self.restarted.wait()
        subprocess.run(
            [str(ROOT / "scripts" / "services.sh"), "down"],
            env=self._env(),
            cwd=ROOT,
            capture_output=True,
            timeout=120,
            check=False,
        )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie child (the restarted broker, not yet reaped) is not alive.
    try:
        return "Z" not in Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@pytest.fixture
def private_kafka(tmp_path: Path) -> Iterator[PrivateKafka]:
    broker = PrivateKafka(tmp_path / "run")
    try:
        yield broker
    finally:
        broker.down()


@pytest.fixture
def make_env(tmp_path: Path) -> Iterator[Callable[..., Env]]:
    """Envs on services of the case's choosing; stopped (workers and keys) at the end."""
    made: list[Env] = []

    def make(on: Services, create_topics: bool = True, **extra: str) -> Env:
        env = Env(on)
        env.extra.update(extra)
        made.append(env)
        if create_topics:
            # As the worker creates them (partitions, retention), before raw producing
            # could auto-create the topic with the broker's defaults.
            settings = Settings(topic=env.topic, partitions=int(env.vars()["TTHC_PARTITIONS"]))
            ensure_topics(
                on.kafka,
                {env.topic: settings.partitions, env.dlq: 1},
                configs=settings.topic_configs(),
            )
        return env

    try:
        yield make
    finally:
        for env in made:
            # The case's private Redis may be gone already.
            with contextlib.suppress(redis.ConnectionError, OSError):
                env.stop()


FULL = os.environ.get("TTHC_FAULT_FULL") == "1"
full_only = pytest.mark.skipif(
    not FULL, reason="a milder variant, run by `make faults` (TTHC_FAULT_FULL=1)"
)


def fault_kills() -> int:
    """SIGKILLs of the kill loop: TTHC_FAULT_KILLS (make faults: 20; CI default: 4)."""
    return int(os.environ.get("TTHC_FAULT_KILLS", "4"))


def record(name: str, **figures: Any) -> None:
    """Measured figures of a case, printed and appended to test-artifacts/faults.jsonl
    (docs/faults.md is written from them)."""
    line = {"case": name, **figures}
    print(f"fault {name}: {json.dumps(figures)}")
    out = ROOT / "test-artifacts"
    out.mkdir(exist_ok=True)
    with (out / "faults.jsonl").open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(line) + "\n")
