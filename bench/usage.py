"""What one command costs: wall time, CPU of its processes, and Redis's CPU meanwhile.

The command's CPU is ``RUSAGE_CHILDREN`` of this process before and after it: a child
that waited for its own children (``replay``/``rebuild --processes N``) hands theirs on,
so the figure is every process of the command. Redis's is ``INFO cpu``
(``used_cpu_user`` + ``used_cpu_sys``) before and after: the share of the work done
inside the Lua scripts, which no number of command processes spreads.
"""

from __future__ import annotations

import resource
import time
from types import TracebackType

import redis


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _redis_cpu(url: str) -> float:
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
        self._redis = _redis_cpu(self.redis_url)
        self._cpu = _children_cpu()
        self._started = time.perf_counter()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.seconds = time.perf_counter() - self._started
        self.cpu = _children_cpu() - self._cpu
        self.redis_cpu = _redis_cpu(self.redis_url) - self._redis
