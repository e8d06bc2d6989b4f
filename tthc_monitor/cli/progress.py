"""Progress of the long commands (publish, --wait, replay, rebuild, simulate) on stderr.

One look for every command: what is done, of how much, the rate and the time left
(tqdm), in Vietnamese with its number format (``12.345/180.877 sự kiện``, ``2.540,3 sự
kiện/giây``). Quiet when stderr is not a terminal (logs, CI, pipes) unless
``TTHC_PROGRESS=1``, and always quiet with ``TTHC_PROGRESS=0``: progress bars in a log
file are noise.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from tqdm import tqdm

from tthc_monitor.report.vnformat import format_int

__all__ = ["Progress", "enabled", "progress", "vn_rate"]

WITH_TOTAL = (
    "{desc}: {percentage:3.0f}%|{bar}| {vn_n}/{vn_total} {unit} "
    "[{elapsed}, còn {remaining}, {vn_rate} {unit}/giây]"
)
WITHOUT_TOTAL = "{desc}: {vn_n} {unit} [{elapsed}, {vn_rate} {unit}/giây]"


class Progress(Protocol):
    def update(self, n: int = 1) -> object: ...

    def reset(self, total: float | None = None) -> object:
        """Start again from 0 with this total (known only once a command has planned)."""
        ...

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None: ...


def vn_rate(rate: float | None) -> str:
    """``2540.25`` -> ``2.540,3``: one decimal below 100 a second, none above."""
    if rate is None:
        return "?"
    if rate >= 100:
        return format_int(round(rate))
    whole, tenth = divmod(round(rate * 10), 10)
    return f"{format_int(whole)},{tenth}"


class _VietnameseBar(tqdm):  # type: ignore[type-arg]
    """tqdm with the counts and rate written the Vietnamese way; the format follows the
    total, which ``reset`` may give late."""

    @property
    def format_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = dict(super().format_dict)
        total = found.get("total")
        found["bar_format"] = WITH_TOTAL if total else WITHOUT_TOTAL
        found["vn_n"] = format_int(int(found.get("n") or 0))
        found["vn_total"] = format_int(int(total)) if total else "?"
        rate = found.get("rate")
        if rate is None and found.get("elapsed"):
            # tqdm's smoothed rate is unset on the final draw: the average then.
            rate = found["n"] / found["elapsed"]
        found["vn_rate"] = vn_rate(rate)
        return found


def enabled() -> bool:
    """Whether bars are drawn: TTHC_PROGRESS=1/0 decides, else only on a terminal."""
    forced = os.environ.get("TTHC_PROGRESS", "").strip()
    if forced in {"0", "1"}:
        return forced == "1"
    return sys.stderr.isatty()


@contextmanager
def progress(desc: str, total: int | None = None, unit: str = "sự kiện") -> Iterator[Progress]:
    """A bar named ``desc`` counting ``unit`` up to ``total`` (None when unknown).

    The bar is always returned, so callers update it unconditionally; when progress is
    disabled it draws nothing and costs an attribute check per update.
    """
    bar = _VietnameseBar(
        total=total,
        desc=desc,
        unit=unit,
        disable=not enabled(),
        file=sys.stderr,
        dynamic_ncols=True,
        mininterval=0.5,
        leave=True,
    )
    try:
        yield bar
    finally:
        bar.close()
