"""``tthc-monitor alerts plan``: the alerts a stream warrants, without Kafka (dry run)."""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from datetime import datetime

from schemas.events import DossierEvent
from tthc_monitor.cli.common import read_lines, settings_from, write_json
from tthc_monitor.core.alerts import AlertRules, plan_alerts
from tthc_monitor.core.periods import LOCAL_TZ
from tthc_monitor.ingest import Rejection, decode


def instant(text: str) -> datetime:
    """An RFC 3339 time; without an offset, local time (Asia/Ho_Chi_Minh)."""
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=LOCAL_TZ)


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    engine = settings.engine
    start, end = instant(args.start), instant(args.end)
    by_dossier: dict[str, list[DossierEvent]] = defaultdict(list)
    for number, raw in read_lines(args.file):
        decoded = decode(raw, engine)
        if isinstance(decoded, Rejection):
            print(f"{args.file}:{number}: {decoded.describe()}", file=sys.stderr)
            continue
        by_dossier[decoded.dossier_id].append(decoded)
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
    print(f"{len(alerts)} alerts fire in [{start.isoformat()}, {end.isoformat()})", file=sys.stderr)
    return 0
