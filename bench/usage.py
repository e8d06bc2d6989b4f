"""What one command costs: wall time, CPU of its processes, and Redis's CPU meanwhile.

The command's CPU is ``RUSAGE_CHILDREN`` of this process before and after it: a child
that waited for its own children (``replay``/``rebuild --processes N``) hands theirs on,
so the figure is every process of the command. Redis's is ``INFO cpu``
(``used_cpu_user`` + ``used_cpu_sys``) before and after: the share of the work done
inside the Lua scripts, which no number of command processes spreads.
"""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path
from types import TracebackType

import redis


def children_cpu() -> float:
    """CPU seconds of this process's finished (waited-for) children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def process_cpu(pid: int) -> float:
    """CPU seconds (user + sys) a running process has used so far, from /proc (Linux);
    NaN where /proc is not there."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    # Fields 14 and 15 of stat(5), counted after the ")" that ends the command name.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return float("nan"), float("nan")
    idle = values[3] + values[4]
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(values) - idle) / tick, sum(values) / tick


def redis_cpu(url: str) -> float:
    """Redis's own CPU seconds so far (``INFO cpu``)."""
    client = redis.Redis.from_url(url)
    try:
        info = client.info("cpu")
    finally:
        client.close()
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


class Usage:
    """``with Usage(redis_url) as usage: subprocess.run(...)``; then ``usage.seconds``,
    ``usage.cpu`` (the command's processes) and ``usage.redis_cpu``, in seconds."""

    def __init__(self, redis_url: str) -> None:
        self.redis_url = redis_url
        self.seconds = self.cpu = self.redis_cpu = 0.0

    def __enter__(self) -> Usage:
        self._redis = redis_cpu(self.redis_url)
        self._cpu = children_cpu()
        self._started = time.perf_counter()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.seconds = time.perf_counter() - self._started
        self.cpu = children_cpu() - self._cpu
        self.redis_cpu = redis_cpu(self.redis_url) - self._redis
