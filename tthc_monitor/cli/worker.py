"""``tthc-monitor worker``: the Faust worker."""

from __future__ import annotations

import argparse
import logging
import os
import threading

from tthc_monitor.cli.cdc import load_mapping, source_topics
from tthc_monitor.cli.common import settings_from
from tthc_monitor.clock import clock_for
from tthc_monitor.connections import check_redis, kafka_python_config
from tthc_monitor.kafka_admin import ensure_topics

log = logging.getLogger("tthc_monitor.worker")


def stop_deadline(seconds: float, status: int) -> threading.Timer:
    """Exit with ``status`` if the process has not ended ``seconds`` from now.

    A clean stop takes about a second; one that waits on a broker that went away at the
    same moment hangs in aiokafka's consumer thread for a minute (Faust's shutdown
    timeout). Leaving then is safe: the worker acks an event only once Redis has it,
    and what it did not commit is delivered again and counted once.
    """

    def leave() -> None:
        log.warning(
            "did not stop within %.0f s (TTHC_WORKER_STOP_TIMEOUT): exiting with %d; "
            "events not committed will be delivered again",
            seconds,
            status,
        )
        os._exit(status)  # the log handlers flush every record

    timer = threading.Timer(seconds, leave)
    timer.daemon = True
    timer.start()
    return timer


def run(args: argparse.Namespace) -> int:
    from faust.worker import Worker

    from streams.app import EXIT_STOPPED_UNAPPLIED, create_app

    settings = settings_from(args)
    settings.engine  # noqa: B018 - load the reference data before starting anything
    mapping = None
    if getattr(args, "cdc_mapping", None):
        mapping = load_mapping(args.cdc_mapping)
        if mapping is None:
            return 2
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
    if mapping is not None:
        topics = {**source_topics(mapping), **topics}
    ensure_topics(
        bootstrap, topics, configs=settings.topic_configs(), security=kafka_python_config(settings)
    )
    app = create_app(settings, clock_for(settings.clock_file), cdc_mapping=mapping)
    if settings.worker_metrics_port:
        from streams import worker_metrics

        worker_metrics.serve(settings.worker_metrics_port, settings.worker_metrics_host)

    class BoundedWorker(Worker):
        """Faust's worker, whose stop (on SIGTERM, SIGINT or a crash) has a deadline."""

        async def on_stop(self) -> None:
            stop_deadline(settings.worker_stop_timeout, EXIT_STOPPED_UNAPPLIED)
            await super().on_stop()

    # redirect_stdouts=False: Faust would send stdout/stderr to its logger one write()
    # at a time, and a traceback printed by a thread would come out one log line per
    # character; they stay the process's own streams.
    worker = BoundedWorker(app, loglevel=args.loglevel, quiet=True, redirect_stdouts=False)
    logging.getLogger("tthc_monitor").setLevel(args.loglevel.upper())
    worker.execute_from_commandline()
    return 0
