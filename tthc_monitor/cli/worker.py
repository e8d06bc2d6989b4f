"""``tthc-monitor worker``: the Faust worker."""

from __future__ import annotations

import argparse
import logging

from tthc_monitor.cli.common import settings_from
from tthc_monitor.clock import clock_for
from tthc_monitor.connections import check_redis, kafka_python_config
from tthc_monitor.kafka_admin import ensure_topics


def run(args: argparse.Namespace) -> int:
    from faust.worker import Worker

    from streams.app import create_app

    settings = settings_from(args)
    settings.engine  # noqa: B018 - load the reference data before starting anything
    if args.web_port:
        settings.web_port = args.web_port
    bootstrap = settings.require_kafka()
    # A wrong password or TLS setting fails here, clearly; an unreachable Redis does not
    # (the worker retries until it returns).
    check_redis(settings)
    topics = {
        settings.topic: settings.partitions,
        settings.dlq_topic: 1,
        settings.alerts_topic: settings.partitions,
    }
    ensure_topics(
        bootstrap, topics, configs=settings.topic_configs(), security=kafka_python_config(settings)
    )
    app = create_app(settings, clock_for(settings.clock_file))
    if settings.worker_metrics_port:
        from streams import worker_metrics

        worker_metrics.serve(settings.worker_metrics_port, settings.worker_metrics_host)
    worker = Worker(app, loglevel=args.loglevel, quiet=True)
    logging.getLogger("tthc_monitor").setLevel(args.loglevel.upper())
    worker.execute_from_commandline()
    return 0
