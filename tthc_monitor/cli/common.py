"""Options shared by every command, and small helpers."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from tthc_monitor import upfile
from tthc_monitor.cli.errors import CommandError
from tthc_monitor.config import Settings
from tthc_monitor.connections import mask_url
from tthc_monitor.ingest import Rejection


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


_resolved: list[Settings] = []
"""The settings of the running command, once ``settings_from`` built them: the error
mapping (tthc_monitor/cli/errors.py) names the address of a service that failed."""


def resolved_settings() -> Settings | None:
    return _resolved[-1] if _resolved else None


OWN_SERVERS = frozenset({"up", "replay", "simulate", "alerts"})
"""Commands that never use a running ``up``'s servers: ``up`` starts its own, ``replay``
its own Redis (its snapshot is the file's alone), the others need none."""


def settings_from(args: argparse.Namespace) -> Settings:
    """The settings of a command: its options, then ``TTHC_*``, then, for Kafka and
    Redis still unset, the servers of a running ``tthc-monitor up`` (the up file,
    tthc_monitor/upfile.py), named on stderr in one line."""
    names = ("units", "procedures", "holidays", "period_cut_day", "kafka_bootstrap", "redis_url")
    overrides: dict[str, Any] = {
        n: getattr(args, n) for n in names if getattr(args, n, None) is not None
    }
    settings = Settings(**overrides)
    _resolved.append(settings)
    if getattr(args, "command", None) in OWN_SERVERS or (
        settings.kafka_bootstrap and settings.redis_url
    ):
        return settings
    path = upfile.path_for(settings.up_file)
    servers = upfile.read_live(path)
    if servers is None:
        return settings
    taken: dict[str, str] = {}
    if not settings.kafka_bootstrap:
        taken["kafka_bootstrap"] = servers.kafka_bootstrap
    if not settings.redis_url:
        taken["redis_url"] = servers.redis_url
    named = " and ".join(
        f"Kafka {value}" if name == "kafka_bootstrap" else f"Redis {mask_url(value)}"
        for name, value in taken.items()
    )
    if "redis_url" in taken and servers.redis_password_omitted and not settings.redis_password:
        named += " (its password is not in the file: set TTHC_REDIS_PASSWORD)"
    print(
        f"tthc-monitor: using {named} of `tthc-monitor up` (pid {servers.pid}) from {path}",
        file=sys.stderr,
        flush=True,
    )
    # Built again so that TTHC_REDIS_PASSWORD and TTHC_REDIS_TLS* apply to the file's URL.
    settings = Settings(**(overrides | taken))
    _resolved.append(settings)
    return settings


STDIN = Path("-")
"""The file name that means standard input (``publish -``, ``alerts plan -``)."""


def source_name(path: Path) -> str:
    """How messages name an input: its path, or ``<stdin>``."""
    return "<stdin>" if path == STDIN else str(path)


def read_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """Non-blank lines of a JSON Lines file (``-``: standard input) with their 1-based
    numbers."""
    if path == STDIN:
        yield from _numbered(sys.stdin.buffer)
        return
    with path.open("rb") as handle:
        yield from _numbered(handle)


def _numbered(handle: BinaryIO) -> Iterator[tuple[int, bytes]]:
    for number, line in enumerate(handle, start=1):
        stripped = line.strip()
        if stripped:
            yield number, stripped


class InvalidLines:
    """The invalid lines of an input, in the format every command uses: one line each,
    ``FILE:LINE: event 'ID': reason`` on stderr as they are found, then, unless
    ``--skip-invalid``, a refusal (exit 2) before anything is done with the valid ones."""

    def __init__(self, path: Path) -> None:
        self.source = source_name(path)
        self.count = 0

    def note(self, number: int, rejection: Rejection) -> None:
        self.count += 1
        print(f"{self.source}:{number}: {rejection.describe()}", file=sys.stderr)

    def refuse_unless(self, skip_invalid: bool, *, valid: int, action: str) -> None:
        """Raise when lines were invalid and ``--skip-invalid`` was not given.

        ``action``: what would have happened to the file, e.g. "published".
        """
        if self.count and not skip_invalid:
            raise CommandError(
                f"{self.count} invalid line(s) in {self.source}: nothing {action} "
                f"(use --skip-invalid to go on with the {valid} valid ones)"
            )


def write_json(document: Any, path: Path | None) -> None:
    text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    if path is None or str(path) == "-":
        print(text, end="")
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
