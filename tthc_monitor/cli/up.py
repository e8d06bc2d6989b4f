"""``tthc-monitor up``: the zero-install default, everything on this machine.

Starts what is not configured of the broker (tansu) and Redis, then the worker and
``serve`` (wall page and /metrics), each in its own session (tthc_monitor/embedded.py),
so that the terminal's Ctrl-C reaches ``up`` alone. ``up`` then stops them in order: the
worker first (it still has its broker and Redis), then ``serve``, then the broker and
Redis; each gets SIGTERM and, past its time, SIGKILL, and is reaped. SIGTERM and SIGHUP
do the same; a second Ctrl-C stops the waiting and kills what is left.

While it runs, the servers are in the up file (tthc_monitor/upfile.py), which the other
commands read when TTHC_KAFKA_BOOTSTRAP / TTHC_REDIS_URL are unset; it is removed at the
end.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from types import FrameType

from tthc_monitor import upfile
from tthc_monitor.cli.common import settings_from
from tthc_monitor.config import Settings
from tthc_monitor.connections import kafka_python_config, mask_url
from tthc_monitor.embedded import (
    Embedded,
    EmbeddedUnavailable,
    StartCancelled,
    free_port,
    spawn,
    stop_process,
    wait_for_port,
)
from tthc_monitor.kafka_admin import ensure_topics

WORKER_STOP = 6.5
"""Seconds the worker has to stop before SIGKILL; its own deadline is shorter."""
WORKER_OWN_DEADLINE = "6"
"""TTHC_WORKER_STOP_TIMEOUT given to the worker unless set: it leaves by itself before
``up`` kills it. A stop takes about 1.5 s, 6 s while the consumer is still joining its
group (the first seconds after a start)."""
DEFAULT_SERVE_PORT = 8080
SERVE_STOP = 1.0
SERVERS_STOP = 1.5
LEFT_EARLY = " (it left before a clean stop: what it did not commit is delivered again)"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def say(message: str, *, error: bool = False) -> None:
    """Print, and carry on if the terminal is gone (SIGHUP)."""
    with contextlib.suppress(OSError, ValueError):
        print(message, file=sys.stderr if error else sys.stdout, flush=True)


class Signals:
    """Stop requests. The handler only records them: the main loop acts."""

    def __init__(self) -> None:
        self.received: list[int] = []

    def install(self) -> None:
        for signum in STOP_SIGNALS:
            signal.signal(signum, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.received.append(signum)

    def stopping(self) -> bool:
        return bool(self.received)

    def forced(self) -> bool:
        return len(self.received) > 1


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp binds
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def child_options(args: argparse.Namespace) -> list[str]:
    """The reference-data options ``up`` was given, for the worker and ``serve``."""
    options: list[str] = []
    for option in ("units", "procedures", "holidays"):
        value = getattr(args, option, None)
        if value:
            options += [f"--{option}", str(value)]
    if getattr(args, "period_cut_day", None):
        options += ["--cut-day", str(args.period_cut_day)]
    return options


class Up:
    def __init__(
        self,
        args: argparse.Namespace,
        settings: Settings,
        signals: Signals,
        serve_port: int,
        other: upfile.UpServers | None,
    ) -> None:
        self.args = args
        self.settings = settings
        self.signals = signals
        self.serve_port = serve_port
        self.path = upfile.path_for(settings.up_file)
        self.other = other
        """Another live ``up`` that wrote the up file: this one leaves it alone."""
        self.embedded = Embedded(cancelled=signals.stopping)
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        """The worker and ``serve``, in start order."""

    def check(self) -> None:
        if self.signals.stopping():
            raise StartCancelled("stopped during start-up")

    def start(self) -> None:
        args, settings = self.args, self.settings
        self.check()
        bootstrap = settings.kafka_bootstrap or self.embedded.start_tansu(args.kafka_port)
        redis_url = settings.redis_url or self.embedded.start_redis(args.redis_port)
        self.check()
        ensure_topics(
            bootstrap,
            {settings.topic: settings.partitions, settings.dlq_topic: 1},
            configs=settings.topic_configs(),
            security=kafka_python_config(settings),
        )
        self.check()
        env = dict(os.environ, TTHC_KAFKA_BOOTSTRAP=bootstrap, TTHC_REDIS_URL=redis_url)
        env.setdefault("TTHC_WORKER_STOP_TIMEOUT", WORKER_OWN_DEADLINE)
        command = [sys.executable, "-m", "tthc_monitor.cli.main"]
        options = child_options(args)
        self.children["worker"] = spawn([*command, "worker", *options], env=env)
        serve = [*command, "serve", "--port", str(self.serve_port), *options]
        self.children["serve"] = spawn(serve, env=env)
        wait_for_port(self.serve_port, self.children["serve"], "serve", 60, self.signals.stopping)

        serve_url = f"http://127.0.0.1:{self.serve_port}/"
        stored_url, omitted = upfile.without_password(redis_url)
        processes = {name: p.pid for name, p in self.embedded.processes}
        processes.update({name: p.pid for name, p in self.children.items()})
        if self.other is None:
            upfile.write(
                self.path,
                upfile.UpServers(
                    pid=os.getpid(),
                    kafka_bootstrap=bootstrap,
                    redis_url=stored_url,
                    serve_url=serve_url,
                    processes=processes,
                    redis_password_omitted=omitted,
                    started_at=datetime.now(UTC).isoformat(timespec="seconds"),
                ),
            )
        here = " (started here)"
        say(f"Kafka  {bootstrap}{here if not settings.kafka_bootstrap else ''}")
        # The URL may carry the password (TTHC_REDIS_PASSWORD is folded into it).
        say(f"Redis  {mask_url(redis_url)}{here if not settings.redis_url else ''}")
        say(f"Wall   {serve_url} (Prometheus: {serve_url}metrics)")
        pids = ", ".join(f"{name} {pid}" for name, pid in processes.items())
        say(f"pids   {pids}")
        variables = f"TTHC_KAFKA_BOOTSTRAP={bootstrap} TTHC_REDIS_URL={mask_url(redis_url)}"
        if self.other is None:
            say(
                f"The other tthc-monitor commands of this user find these servers in "
                f"{self.path}; elsewhere set {variables}"
            )
        else:
            say(
                f"Not written to {self.path} (another `tthc-monitor up`, pid "
                f"{self.other.pid}, wrote it): the other commands need {variables}"
            )
        say("Ctrl-C stops everything started here.")

    def watch(self) -> int:
        """Until a stop signal (0) or a process that exits by itself (its status, or 1)."""
        while not self.signals.stopping():
            for name, process in [*self.children.items(), *self.embedded.processes]:
                status = process.poll()
                if status is not None:
                    say(
                        f"tthc-monitor up: {name} exited with status {status}; stopping the rest",
                        error=True,
                    )
                    return status if status > 0 else 1
            time.sleep(0.1)
        return 0

    def stop(self) -> None:
        """The worker, then ``serve``, then the broker and Redis; all reaped."""
        started = time.monotonic()
        running = [
            n for n, p in [*self.children.items(), *self.embedded.processes] if p.poll() is None
        ]
        if running:
            say(f"stopping {', '.join(running)} (Ctrl-C again: kill them now)")
        took: list[str] = []
        for name, timeout in (("worker", WORKER_STOP), ("serve", SERVE_STOP)):
            process = self.children.get(name)
            if process is None:
                continue
            begin = time.monotonic()
            if not stop_process(process, timeout, self.signals.forced):
                say(f"tthc-monitor up: {name} did not stop in time: killed", error=True)
            elif process.returncode not in (0, -signal.SIGTERM) and self.signals.stopping():
                say(
                    f"tthc-monitor up: {name} stopped with status {process.returncode}"
                    + (LEFT_EARLY if name == "worker" and process.returncode == 75 else ""),
                    error=True,
                )
            took.append(f"{name} {time.monotonic() - begin:.1f} s")
        servers = " and ".join(name for name, _ in reversed(self.embedded.processes))
        begin = time.monotonic()
        self.embedded.stop(SERVERS_STOP, self.signals.forced)
        if servers:
            took.append(f"{servers} {time.monotonic() - begin:.1f} s")
        if self.other is None:
            upfile.remove(self.path, os.getpid())
        if running:
            say(f"stopped {', '.join(took)}; {time.monotonic() - started:.1f} s in all")


def run(args: argparse.Namespace) -> int:
    signals = Signals()
    signals.install()  # from now on Ctrl-C, SIGTERM and SIGHUP only ask for a stop
    settings = settings_from(args)
    settings.engine  # noqa: B018 - load the reference data before starting anything
    path = upfile.path_for(settings.up_file)
    other = upfile.read_live(path)
    if other is not None:
        say(
            f"tthc-monitor up: another `tthc-monitor up` (pid {other.pid}) wrote {path}: "
            "this one leaves it alone (TTHC_UP_FILE gives it its own)",
            error=True,
        )
    serve_port = args.serve_port or DEFAULT_SERVE_PORT
    if not port_free(serve_port):
        if args.serve_port:
            say(f"tthc-monitor: port {serve_port} (--serve-port) is in use", error=True)
            return 2
        serve_port = free_port()
        say(
            f"tthc-monitor up: port {DEFAULT_SERVE_PORT} is in use: the wall page is on "
            f"port {serve_port} (--serve-port chooses)",
            error=True,
        )
    up = Up(args, settings, signals, serve_port, other)
    code = 0
    try:
        up.start()
        code = up.watch()
    except StartCancelled:
        code = 0
    except EmbeddedUnavailable as error:  # set-up, not a failure of a server: usage status
        say(f"tthc-monitor up: {error}", error=True)
        code = 2
    except RuntimeError as error:  # a server that did not start (its log is in the message)
        say(f"tthc-monitor up: {error}", error=True)
        code = 1
    finally:
        up.stop()
    return code
