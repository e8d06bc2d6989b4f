"""Private redis-server and Apache Kafka processes for the cases that stop or restart them."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

from tests.integration.conftest import ROOT
from tthc_monitor.embedded import free_port, redis_server_binary

__all__ = ["PrivateKafka", "PrivateRedis"]

# The shared Kafka and Redis (scripts/services.sh, reused from tests/integration) carry the
# cases that do not restart a service; those that do run these, so the others are never
# disturbed.


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
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True
