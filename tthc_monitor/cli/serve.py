"""``tthc-monitor serve``: exporter, JSON API and wall page, apart from the workers."""

from __future__ import annotations

import argparse
import sys

from aiohttp import web

from tthc_monitor.cli.common import settings_from
from tthc_monitor.connections import check_redis
from tthc_monitor.web.app import build_app


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    # Wrong credentials or TLS: say so now, not as a 500 at the first scrape.
    check_redis(settings)
    app = build_app(settings, args.period)
    print(f"serving on http://{args.host}:{args.port}/metrics", file=sys.stderr, flush=True)
    web.run_app(app, host=args.host, port=args.port, print=None)
    return 0
