"""Progress of the long commands (publish, --wait, replay, rebuild, simulate) on stderr.

One look for every command: what is done, of how much, the rate and the time left (tqdm).
Quiet when stderr is not a terminal (logs, CI, pipes) unless ``TTHC_PROGRESS=1``, and
always quiet with ``TTHC_PROGRESS=0``: progress bars in a log file are noise.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from tqdm import tqdm

__all__ = ["Progress", "enabled", "progress"]


class Progress(Protocol):
    def update(self, n: int = 1) -> object: ...

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None: ...


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
    bar = tqdm(
        total=total,
        desc=desc,
        unit=f" {unit}",
        unit_scale=True,
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
