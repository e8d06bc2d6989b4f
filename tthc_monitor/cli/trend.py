"""``tthc-monitor trend``: a figure over the last periods, for a unit (with the
predecessors whose figures it sums) or the province, as a Vietnamese table or as the
JSON of ``GET /api/trend`` (docs/dashboards.md, "Trends across registry versions")."""

from __future__ import annotations

import argparse
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from tthc_monitor.cli.common import settings_from, write_json
from tthc_monitor.cli.dates import period
from tthc_monitor.cli.errors import CommandError
from tthc_monitor.connections import redis_sync_client
from tthc_monitor.core.periods import LOCAL_TZ
from tthc_monitor.core.trends import FIGURES, PROVINCE, consecutive_periods
from tthc_monitor.report.vnformat import format_int, format_month, format_percent
from tthc_monitor.web.trend import DEFAULT_FIGURE, DEFAULT_PERIODS, MAX_PERIODS, compute

MARK = "¹"


def add_parser(commands: Any) -> None:
    p = commands.add_parser(
        "trend",
        help="a figure over the last periods, a unit with its predecessors or the province",
    )
    p.add_argument(
        "--unit", required=True, help=f"unit id, or '{PROVINCE}' for the province's total"
    )
    p.add_argument(
        "--figure",
        default=DEFAULT_FIGURE,
        choices=list(FIGURES),
        help=f"the figure (default {DEFAULT_FIGURE})",
    )
    p.add_argument(
        "--periods",
        type=_count,
        default=DEFAULT_PERIODS,
        help=f"how many periods, 1 to {MAX_PERIODS} (default {DEFAULT_PERIODS})",
    )
    p.add_argument(
        "--period", type=period, help="the last period, YYYY-MM or MM/YYYY (default: current)"
    )
    p.add_argument(
        "--json", type=Path, help="write the JSON of /api/trend to this file ('-': stdout)"
    )
    p.set_defaults(run=run)


def _count(text: str) -> int:
    if not (text.isascii() and text.isdigit() and len(text) <= 2) or not (
        1 <= int(text) <= MAX_PERIODS
    ):
        raise argparse.ArgumentTypeError(f"an integer from 1 to {MAX_PERIODS}, got {text!r}")
    return int(text)


def _value(point: dict[str, Any], rate: bool) -> str:
    value = point["value"]
    if not rate:
        return format_int(value)
    if value is None:
        return "–"  # nothing resolved or received: not measured, not 0 %
    share = (Decimal(point["numerator"]) * 100 / Decimal(point["denominator"])).quantize(
        Decimal("0.1"), ROUND_HALF_UP
    )
    return (
        f"{format_percent(share, trim=True)} "
        f"({format_int(point['numerator'])}/{format_int(point['denominator'])})"
    )


def text(document: dict[str, Any]) -> str:
    """The trend as staff read it: one line a period, predecessors marked and named."""
    periods = [p["period"] for p in document["points"]]
    lines = [
        f"{document['label']} — {document['name']}, "
        f"{len(periods)} kỳ từ {format_month(periods[0])} đến {format_month(periods[-1])}",
        f"{'Kỳ':<9} {'Số liệu':>22}",
    ]
    for point in document["points"]:
        row = f"{format_month(point['period']):<9} {_value(point, document['rate']):>22}"
        if point["summed_from"]:
            row += f" {MARK} " + ", ".join(p["name"] for p in point["summed_from"])
        lines.append(row)
    if document["summed_from"]:
        named = []
        for ref in document["summed_from"]:
            last = ref.get("last_day")
            until = f" (đến hết {date.fromisoformat(last):%d/%m/%Y})" if last else ""
            named.append(ref["name"] + until)
        lines.append(f"{MARK} Gồm số liệu của đơn vị tiền nhiệm: " + "; ".join(named))
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    registry = settings.registry
    if args.unit != PROVINCE and args.unit not in registry.units:
        raise CommandError(
            f"unknown unit {args.unit!r}: not in the unit registry "
            f"({settings.units or 'the built-in Quảng Trị registry'})"
        )
    last = args.period or settings.periods.period_of(datetime.now(LOCAL_TZ))
    periods = consecutive_periods(last, args.periods)
    redis = redis_sync_client(settings)
    try:
        document = compute(redis, settings, args.unit, FIGURES[args.figure], periods)
    finally:
        redis.close()
    if args.json:
        write_json(document, args.json)
        if str(args.json) == "-":
            return 0  # stdout holds the JSON alone
    print(text(document), end="")
    return 0
