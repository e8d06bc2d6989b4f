"""Where the worker gets the time: the wall clock, or (tests only) a file.

Deadline alerts fire by the clock, so the store and the sweeper take it as a function.
``TTHC_CLOCK_FILE`` lets integration tests drive real worker processes through a month
of deadlines in seconds: the file holds one RFC 3339 instant, read at every call (a
test rewrites it to move time forward). Never set it in production.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from tthc_monitor.core.periods import LOCAL_TZ

Clock = Callable[[], datetime]


def wall_clock() -> datetime:
    return datetime.now(LOCAL_TZ)


def file_clock(path: Path) -> Clock:
    def now() -> datetime:
        value = datetime.fromisoformat(path.read_text("utf-8").strip())
        return value if value.tzinfo else value.replace(tzinfo=LOCAL_TZ)

    return now


def clock_for(clock_file: Path | None) -> Clock:
    return file_clock(clock_file) if clock_file else wall_clock
