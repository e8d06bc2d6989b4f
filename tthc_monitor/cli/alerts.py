"""``tthc-monitor alerts plan``: the alerts a stream warrants, without Kafka (dry run)."""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict

from schemas.events import DossierEvent
from tthc_monitor.cli.common import InvalidLines, read_lines, settings_from, write_json
from tthc_monitor.cli.errors import CommandError
from tthc_monitor.core.alerts import AlertRules, plan_alerts
from tthc_monitor.ingest import Rejection, decode


def run(args: argparse.Namespace) -> int:
    # --from and --to are aware datetimes already (tthc_monitor/cli/dates.py).
    start, end = args.start, args.end
    if end <= start:
        raise CommandError(f"--to ({end.isoformat()}) must be after --from ({start.isoformat()})")
    settings = settings_from(args)
    engine = settings.engine
    by_dossier: dict[str, list[DossierEvent]] = defaultdict(list)
    invalid = InvalidLines(args.file)
    valid = 0
    for number, raw in read_lines(args.file):
        decoded = decode(raw, engine)
        if isinstance(decoded, Rejection):
            invalid.note(number, decoded)
            continue
        valid += 1
        by_dossier[decoded.dossier_id].append(decoded)
    invalid.refuse_unless(args.skip_invalid, valid=valid, action="planned")
    rules = AlertRules(
        settings.calendar,
        lead_days=args.lead_days,
        lead_overrides=engine.alert_lead_overrides,
    )
    alerts = [
        alert
        for dossier_id, events in by_dossier.items()
        for alert in plan_alerts(engine.timeline(dossier_id, events), rules)
        if start <= alert.fire_at < end
    ]
    alerts.sort(key=lambda a: (a.fire_at, a.dossier_id, a.alert_id))
    write_json([a.as_dict() for a in alerts], args.json)
    skipped = f" ({invalid.count} invalid lines skipped)" if invalid.count else ""
    print(
        f"{len(alerts)} alerts fire in [{start.isoformat()}, {end.isoformat()}){skipped}",
        file=sys.stderr,
    )
    return 0
