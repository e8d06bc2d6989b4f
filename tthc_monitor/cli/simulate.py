"""``tthc-monitor simulate``: a deterministic scenario's event stream (test and demo data)."""

from __future__ import annotations

import argparse
import sys

from tthc_monitor.cli.common import settings_from
from tthc_monitor.cli.errors import CommandError
from tthc_monitor.cli.progress import progress


def run(args: argparse.Namespace) -> int:
    from tthc_monitor.simulate import scenarios

    settings = settings_from(args)
    try:
        build = scenarios.SCENARIOS[args.scenario]
    except KeyError:
        known = ", ".join(sorted(scenarios.SCENARIOS))
        raise CommandError(f"unknown scenario {args.scenario!r}; known: {known}") from None
    # The bar counts dossiers as their events are emitted (planning them comes first).
    with progress("simulate", unit="hồ sơ") as bar:
        count = build(settings, args.out, args.seed, bar)
    print(f"wrote {count} events to {args.out}", file=sys.stderr)
    return 0
