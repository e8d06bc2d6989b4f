"""``tthc-monitor simulate``: a deterministic scenario's event stream (test and demo data)."""

from __future__ import annotations

import argparse
import sys

from tthc_monitor.cli.common import settings_from


def run(args: argparse.Namespace) -> int:
    from tthc_monitor.simulate import scenarios

    settings = settings_from(args)
    try:
        build = scenarios.SCENARIOS[args.scenario]
    except KeyError:
        known = ", ".join(sorted(scenarios.SCENARIOS))
        print(f"unknown scenario {args.scenario!r}; known: {known}", file=sys.stderr)
        return 2
    count = build(settings, args.out, args.seed)
    print(f"wrote {count} events to {args.out}", file=sys.stderr)
    return 0
