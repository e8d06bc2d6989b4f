"""Options shared by every command, and small helpers."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tthc_monitor.config import Settings


def add_common(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("reference data and services")
    group.add_argument("--units", type=Path, help="unit registry CSV (env TTHC_UNITS)")
    group.add_argument(
        "--procedures", type=Path, help="procedure catalog CSV (env TTHC_PROCEDURES)"
    )
    group.add_argument("--holidays", type=Path, help="calendar adjustments CSV (env TTHC_HOLIDAYS)")
    group.add_argument(
        "--cut-day",
        dest="period_cut_day",
        type=int,
        help="day of the month a period starts (env TTHC_PERIOD_CUT_DAY, 15)",
    )
    group.add_argument("--kafka-bootstrap", help="host:port (env TTHC_KAFKA_BOOTSTRAP)")
    group.add_argument("--redis-url", help="redis://host:port/db (env TTHC_REDIS_URL)")


def settings_from(args: argparse.Namespace) -> Settings:
    names = ("units", "procedures", "holidays", "period_cut_day", "kafka_bootstrap", "redis_url")
    overrides = {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}
    return Settings(**overrides)


def read_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """Non-blank lines of a JSON Lines file with their 1-based numbers."""
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            stripped = line.strip()
            if stripped:
                yield number, stripped


def write_json(document: Any, path: Path | None) -> None:
    text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    if path is None or str(path) == "-":
        print(text, end="")
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
