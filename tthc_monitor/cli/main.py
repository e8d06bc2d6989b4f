"""Entry point of ``tthc-monitor``."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import NoReturn, cast

from tthc_monitor.cli import (
    alerts,
    cdc,
    compact,
    digest,
    dlq,
    publish,
    rebuild,
    replay,
    report,
    serve,
    simulate,
    snapshot,
    status,
    trend,
    units,
    up,
    worker,
)
from tthc_monitor.cli.common import add_common, resolved_settings
from tthc_monitor.cli.dates import day, instant, period
from tthc_monitor.cli.errors import USAGE, explain


class Parser(argparse.ArgumentParser):
    """argparse, with its errors on one line (no usage block): the option and what is
    wrong with it, and where the help is. Exit 2, as argparse does."""

    def error(self, message: str) -> NoReturn:
        self.exit(USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def package_version() -> str:
    try:
        return version("tthc-monitor")
    except PackageNotFoundError:
        # Run from a checkout that was never installed (PYTHONPATH=.).
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="tthc-monitor", description="Real-time monitoring of TTHC dossiers.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    # Typed as plain ArgumentParser for the modules that add their own commands; each
    # subparser is still a Parser (add_subparsers takes the class of its parser).
    commands = cast(
        "argparse._SubParsersAction[argparse.ArgumentParser]",
        parser.add_subparsers(dest="command", required=True, metavar="COMMAND"),
    )

    p = commands.add_parser("worker", help="run the Faust worker")
    p.add_argument("--web-port", type=int, help="Faust web port (one per worker on a host)")
    p.add_argument(
        "--cdc-mapping",
        type=Path,
        default=os.environ.get("TTHC_CDC_MAPPING") or None,
        help="also run the CDC translator with this mapping (default TTHC_CDC_MAPPING)",
    )
    p.add_argument("--loglevel", default="info")
    p.set_defaults(run=worker.run)

    p = commands.add_parser("publish", help="validate and publish a JSON Lines file")
    p.add_argument("file", type=Path, help="JSON Lines file; '-' reads standard input")
    p.add_argument("--wait", action="store_true", help="block until the worker applied it")
    p.add_argument("--timeout", type=float, default=600.0, help="seconds --wait waits at most")
    p.add_argument(
        "--skip-invalid",
        action="store_true",
        help="publish the valid lines even when some are invalid",
    )
    p.set_defaults(run=publish.run)

    p = commands.add_parser("replay", help="apply a JSON Lines file without Kafka")
    p.add_argument("file", type=Path)
    p.add_argument(
        "--period", type=period, help="YYYY-MM or MM/YYYY: write this period's snapshot afterwards"
    )
    p.add_argument("--json", type=Path, help="snapshot output file (default stdout)")
    replay.add_arguments(p)
    p.set_defaults(run=replay.run)

    p = commands.add_parser(
        "rebuild", help="restore Redis from the events topic, read from offset 0"
    )
    p.add_argument(
        "--allow-truncated",
        action="store_true",
        help="rebuild even when retention deleted the topic's first events "
        "(on top of a Redis restored from a backup)",
    )
    p.add_argument("--json", type=Path, help="also write the rebuild's figures here")
    rebuild.add_arguments(p)
    p.set_defaults(run=rebuild.run)

    p = commands.add_parser("snapshot", help="a period's figures, live or frozen, from Redis")
    p.add_argument("--period", required=True, type=period, help="YYYY-MM or MM/YYYY")
    p.add_argument(
        "--months",
        type=positive,
        help="cover this many periods ending with --period (default 1; land appendix: 3)",
    )
    p.add_argument("--json", type=Path, help="output file (default stdout)")
    frozen = p.add_mutually_exclusive_group()
    frozen.add_argument(
        "--freeze", action="store_true", help="freeze a new version now and print its number"
    )
    frozen.add_argument("--version", type=positive, help="read this frozen version (default: live)")
    frozen.add_argument(
        "--versions", action="store_true", help="list the frozen versions with their as_of"
    )
    frozen.add_argument(
        "--adjustments",
        action="store_true",
        help="list events applied to the frozen period(s) after a version was frozen",
    )
    p.set_defaults(run=snapshot.run)

    p = commands.add_parser("alerts", help="deadline alerts")
    alert_commands = p.add_subparsers(dest="alerts_command", required=True)
    p = alert_commands.add_parser("plan", help="the alerts a stream warrants (dry run)")
    p.add_argument("file", type=Path, help="JSON Lines file; '-' reads standard input")
    p.add_argument(
        "--from",
        dest="start",
        required=True,
        type=instant,
        help="first fire time: dd/mm/yyyy [HH:MM], YYYY-MM-DD or RFC 3339 (Vietnam time)",
    )
    p.add_argument(
        "--to", dest="end", required=True, type=instant, help="end of the window (exclusive)"
    )
    p.add_argument("--json", type=Path, help="output file (default stdout)")
    p.add_argument(
        "--lead-days",
        type=positive,
        default=1,
        help="working days before the due's date that due_soon fires (default 1)",
    )
    p.add_argument(
        "--skip-invalid",
        action="store_true",
        help="plan from the valid lines even when some are invalid",
    )
    p.set_defaults(run=alerts.run)
    add_common(p)

    p = commands.add_parser("serve", help="the metrics exporter (/metrics)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument(
        "--period", type=period, help="show this period instead of the current one (YYYY-MM)"
    )
    p.set_defaults(run=serve.run)

    p = commands.add_parser("digest", help="a unit's dossiers due today, tomorrow, overdue")
    p.add_argument("--unit", required=True, help="unit id")
    p.add_argument("--date", required=True, type=day, help="dd/mm/yyyy or YYYY-MM-DD")
    p.add_argument("--json", type=Path, help="also write the digest as JSON here ('-': stdout)")
    p.set_defaults(run=digest.run)

    p = commands.add_parser("report", help="write the monthly report from frozen snapshots")
    p.add_argument("--period", required=True, type=period, help="YYYY-MM or MM/YYYY")
    p.add_argument("--out", type=Path, required=True, help="output directory")
    p.add_argument("--version", type=positive, help="frozen version of the month (default: latest)")
    p.add_argument("--profile", type=Path, help="report profile JSON (default: Quảng Trị)")
    p.set_defaults(run=report.run)

    p = commands.add_parser(
        "compact", help="compact closed dossiers and prune old keys (the worker's timer, once)"
    )
    p.add_argument("--dry-run", action="store_true", help="count what would go; write nothing")
    p.set_defaults(run=compact.run)

    p = commands.add_parser("simulate", help="write a deterministic scenario's event stream")
    p.add_argument("scenario", help="scenario name, e.g. quangtri-2022-04")
    p.add_argument("--out", type=Path, required=True, help="JSON Lines output file")
    p.add_argument("--seed", type=int, default=1)
    p.set_defaults(run=simulate.run)

    p = commands.add_parser(
        "up", help="start broker, Redis, worker and the wall page (serve) on this machine"
    )
    p.add_argument("--kafka-port", type=int, help="port for the embedded broker")
    p.add_argument("--redis-port", type=int, help="port for the embedded Redis")
    p.add_argument(
        "--serve-port",
        type=int,
        help="port of `serve` (wall page, /metrics); default 8080, or a free one if taken",
    )
    p.set_defaults(run=up.run)

    p = commands.add_parser(
        "status", help="is the pipeline healthy: services, lag, last event, dead letters"
    )
    p.add_argument("--json", action="store_true", help="print the status as JSON")
    p.set_defaults(run=status.run)

    p = commands.add_parser(
        "units", help="the report rows in force on a day; --lineage: former communes (CSV)"
    )
    p.add_argument("--on", type=day, help="the day (dd/mm/yyyy or YYYY-MM-DD; default today)")
    p.add_argument(
        "--lineage",
        action="store_true",
        help="CSV of each unit in force and the former communes it covers (a reading aid)",
    )
    p.set_defaults(run=units.run)

    dlq.add_parser(commands)

    trend.add_parser(commands)

    cdc.add_parser(commands)

    for sub in commands.choices.values():
        add_common(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except BrokenPipeError:
        # The reader went away (`tthc-monitor units | head`): what it wanted it has.
        # Point stdout at /dev/null so the interpreter's final flush does not fail too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (Exception, KeyboardInterrupt, SystemExit) as error:
        # The one place where errors become exit codes (tthc_monitor/cli/errors.py).
        explained = explain(error, resolved_settings())
        if explained is None:
            raise
        print(f"tthc-monitor: {explained.message}", file=sys.stderr)
        return explained.code
    return code


if __name__ == "__main__":
    sys.exit(main())
