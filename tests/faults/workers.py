"""Watching a case's workers: applied counts, waits on their progress, SIGKILL."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable

import redis

from tests.integration.conftest import Env
from tthc_monitor.kafka_admin import end_offsets

__all__ = ["applied", "kill", "progress_reached", "wait_applied", "wait_for"]


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
