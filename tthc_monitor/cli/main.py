"""Entry point of ``tthc-monitor``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import kafka.errors
import redis.exceptions
from pydantic import ValidationError

from tthc_monitor.cli import (
    alerts,
    compact,
    digest,
    publish,
    rebuild,
    replay,
    report,
    serve,
    simulate,
    snapshot,
    up,
    worker,
)
from tthc_monitor.cli.common import add_common
from tthc_monitor.connections import REDIS_AUTH_HINT, ServiceAccessError
from tthc_monitor.core.calendar import AdjustmentFileError
from tthc_monitor.embedded import EmbeddedUnavailable
from tthc_monitor.reference.registry import ReferenceDataError
from tthc_monitor.report.model import ReportError
from tthc_monitor.report.profile import ProfileError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tthc-monitor", description="Real-time monitoring of TTHC dossiers."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("worker", help="run the Faust worker")
    p.add_argument("--web-port", type=int, help="Faust web port (one per worker on a host)")
    p.add_argument("--loglevel", default="info")
    p.set_defaults(run=worker.run)

    p = commands.add_parser("publish", help="validate and publish a JSON Lines file")
    p.add_argument("file", type=Path)
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
    p.add_argument("--period", help="YYYY-MM: write this period's snapshot afterwards")
    p.add_argument("--json", type=Path, help="snapshot output file (default stdout)")
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
    p.set_defaults(run=rebuild.run)

    p = commands.add_parser("snapshot", help="a period's figures, live or frozen, from Redis")
    p.add_argument("--period", required=True, help="YYYY-MM")
    p.add_argument(
        "--months",
        type=int,
        help="cover this many periods ending with --period (default 1; land appendix: 3)",
    )
    p.add_argument("--json", type=Path, help="output file (default stdout)")
    frozen = p.add_mutually_exclusive_group()
    frozen.add_argument(
        "--freeze", action="store_true", help="freeze a new version now and print its number"
    )
    frozen.add_argument("--version", type=int, help="read this frozen version (default: live)")
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
    p.add_argument("file", type=Path)
    p.add_argument("--from", dest="start", required=True, help="first fire time (RFC 3339)")
    p.add_argument("--to", dest="end", required=True, help="end of the window (exclusive)")
    p.add_argument("--json", type=Path, help="output file (default stdout)")
    p.add_argument(
        "--lead-days",
        type=int,
        default=1,
        help="working days before the due's date that due_soon fires (default 1)",
    )
    p.set_defaults(run=alerts.run)
    add_common(p)

    p = commands.add_parser("serve", help="the metrics exporter (/metrics)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--period", help="show this period instead of the current one (YYYY-MM)")
    p.set_defaults(run=serve.run)

    p = commands.add_parser("digest", help="a unit's dossiers due today, tomorrow, overdue")
    p.add_argument("--unit", required=True, help="unit id")
    p.add_argument("--date", required=True, help="YYYY-MM-DD (local)")
    p.add_argument("--json", type=Path, help="also write the digest as JSON here ('-': stdout)")
    p.set_defaults(run=digest.run)

    p = commands.add_parser("report", help="write the monthly report from frozen snapshots")
    p.add_argument("--period", required=True, help="YYYY-MM")
    p.add_argument("--out", type=Path, required=True, help="output directory")
    p.add_argument("--version", type=int, help="frozen version of the month (default: latest)")
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

    for sub in commands.choices.values():
        add_common(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except (
        FileNotFoundError,
        ReferenceDataError,
        AdjustmentFileError,
        ValidationError,
        ProfileError,
        ReportError,
    ) as error:
        # Bad configuration or reference data: a clear message, not a traceback.
        print(f"tthc-monitor: {error}", file=sys.stderr)
        return 2
    except (ServiceAccessError, EmbeddedUnavailable) as error:
        print(f"tthc-monitor: {error}", file=sys.stderr)
        return 2
    except redis.exceptions.AuthenticationError as error:
        # redis-py's message names neither the URL nor the password.
        print(
            f"tthc-monitor: Redis refused the credentials ({error}): {REDIS_AUTH_HINT}",
            file=sys.stderr,
        )
        return 2
    except redis.exceptions.NoPermissionError as error:
        print(f"tthc-monitor: the Redis ACL user lacks a permission: {error}", file=sys.stderr)
        return 2
    except redis.exceptions.ConnectionError as error:
        # Unreachable, or TLS refused (the message says which); never the URL's password.
        print(f"tthc-monitor: cannot use Redis: {error}", file=sys.stderr)
        return 2
    except redis.exceptions.ResponseError as error:
        # A write Redis refused (e.g. WRONGTYPE on a key): its own message names the key.
        print(f"tthc-monitor: Redis refused a command: {error}", file=sys.stderr)
        return 1
    except kafka.errors.KafkaError as error:
        # A broker that refuses our SASL credentials or TLS looks like one that cannot be
        # reached (kafka-python keeps retrying the bootstrap): name both causes.
        print(
            f"tthc-monitor: Kafka: {error}; check TTHC_KAFKA_BOOTSTRAP and, for a secured "
            "cluster, TTHC_KAFKA_SECURITY_PROTOCOL, TTHC_KAFKA_SASL_MECHANISM/USERNAME/"
            "PASSWORD and TTHC_KAFKA_TLS_*",
            file=sys.stderr,
        )
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
