"""``tthc-monitor up``: the zero-install default, broker + Redis + worker on this machine."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys

from tthc_monitor.cli.common import settings_from
from tthc_monitor.connections import kafka_python_config, mask_url
from tthc_monitor.embedded import Embedded
from tthc_monitor.kafka_admin import ensure_topics


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    settings.engine  # noqa: B018 - load the reference data before starting anything
    embedded = Embedded()
    worker: subprocess.Popen[bytes] | None = None
    try:
        bootstrap = settings.kafka_bootstrap or embedded.start_tansu(args.kafka_port)
        redis_url = settings.redis_url or embedded.start_redis(args.redis_port)
        ensure_topics(
            bootstrap,
            {settings.topic: settings.partitions, settings.dlq_topic: 1},
            configs=settings.topic_configs(),
            security=kafka_python_config(settings),
        )
        env = dict(os.environ, TTHC_KAFKA_BOOTSTRAP=bootstrap, TTHC_REDIS_URL=redis_url)
        started = " (started here)"
        print(f"Kafka  {bootstrap}{started if not settings.kafka_bootstrap else ''}")
        # The URL may carry the password (TTHC_REDIS_PASSWORD is folded into it).
        shown = mask_url(redis_url)
        print(f"Redis  {shown}{started if not settings.redis_url else ''}")
        print(f"export TTHC_KAFKA_BOOTSTRAP={bootstrap} TTHC_REDIS_URL={shown}")
        command = [sys.executable, "-m", "tthc_monitor.cli.main", "worker"]
        for option in ("units", "procedures", "holidays"):
            value = getattr(args, option, None)
            if value:
                command += [f"--{option}", str(value)]
        worker = subprocess.Popen(command, env=env)
        print(f"worker pid {worker.pid}; Ctrl-C stops everything started here", flush=True)
        return worker.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        if worker is not None and worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(20)
            except subprocess.TimeoutExpired:
                worker.kill()
        embedded.stop()
