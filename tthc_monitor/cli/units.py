"""``tthc-monitor units``: the registry in force on a day, and the 2025 units' lineage."""

from __future__ import annotations

import argparse
import csv
import sys
from datetime import date, timedelta

from tthc_monitor.cli.common import settings_from


def run(args: argparse.Namespace) -> int:
    from tthc_monitor.reference.lineage import load_lineage

    settings = settings_from(args)
    registry = settings.registry
    day: date = args.on or date.today()
    units = [u for u in registry.top_level() if registry.in_force(u, day)]
    if args.lineage:
        lineage = load_lineage()
        rows = lineage.rows(registry, units)
        writer = csv.DictWriter(
            sys.stdout,
            ["unit_id", "unit_name", "former_code", "former_name", "former_district"],
            lineterminator="\n",
        )
        writer.writeheader()
        writer.writerows(rows)
        return 0
    print(f"Đơn vị có hiệu lực ngày {day:%d/%m/%Y}: {len(units)}")
    for unit_id in units:
        unit = registry.unit(unit_id)
        # valid_to is the first day out of force: print the last day in force.
        last = unit.valid_to - timedelta(days=1) if unit.valid_to else None
        ends = f" (đến hết ngày {last:%d/%m/%Y})" if last else ""
        print(f"  {unit.report_group:<3} {unit_id:<36} {unit.name}{ends}")
    return 0
