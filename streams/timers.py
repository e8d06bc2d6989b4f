"""The worker's periodic tasks: the automatic freeze, retention, the alert sweep.

A Faust timer that raises stops for good, so every failure is logged by ``periodic``
and the task runs again at its next tick; an outage is one line per tick, not a
traceback.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from tthc_monitor.alerting.sweeper import Sweeper
from tthc_monitor.config import Settings
from tthc_monitor.connections import kafka_python_config
from tthc_monitor.kafka_admin import end_offsets
from tthc_monitor.pipeline import source_key
from tthc_monitor.store.redis_store import DossierStore
from tthc_monitor.store.retention import Retention
from tthc_monitor.store.snapshots import SnapshotStore

log = logging.getLogger("tthc_monitor.worker")

REDIS_DOWN = (RedisConnectionError, RedisTimeoutError)
T = TypeVar("T")


async def periodic(what: str, step: Awaitable[T]) -> T | None:
    """One run of a periodic task, or None when it failed and was logged."""
    try:
        return await step
    except REDIS_DOWN as error:
        log.warning("%s: Redis unavailable (%s); next tick", what, error)
    except Exception:
        log.exception("%s failed; trying again at the next tick", what)
    return None


async def freeze_ended_periods(snapshots: SnapshotStore, grace_days: int) -> None:
    done = await periodic("automatic freeze", snapshots.freeze_due(timedelta(days=grace_days)))
    for result in done or ():
        log.info("froze period %s: versions %s", result.period, result.versions)


async def compact_and_prune(retention: Retention) -> None:
    result = await periodic("retention", retention.run())
    if result is None:
        return
    if result.compacted or result.day_buckets or result.adjustments or result.eid_conflicts:
        log.info(
            "retention: compacted %d dossiers (%d raced), deleted %d day buckets, "
            "%d adjustment lists, %d event-id conflict entries",
            result.compacted,
            result.raced,
            result.day_buckets,
            result.adjustments,
            result.eid_conflicts,
        )


class Backlog:
    """Whether the events waiting in the topic when this worker started are applied.

    A worker that was down must not fire an alert that an event published meanwhile
    (a late 'resolved', say) cancels: it fires only after the backlog is in Redis.
    """

    def __init__(self, settings: Settings, store: Callable[[], DossierStore]) -> None:
        self.settings = settings
        self.store = store
        self.targets: dict[int, int] | None = None
        self.done = False

    async def applied(self) -> bool:
        if self.done:
            return True
        settings = self.settings
        if self.targets is None:
            self.targets = await asyncio.get_running_loop().run_in_executor(
                None,
                functools.partial(
                    end_offsets,
                    settings.require_kafka(),
                    settings.topic,
                    security=kafka_python_config(settings),
                ),
            )
        progress = await self.store().read_progress()
        self.done = all(
            progress.get(source_key(settings.topic, partition), 0) >= end
            for partition, end in self.targets.items()
        )
        return self.done


async def sweep_alerts(backlog: Backlog, sweeper: Callable[[], Sweeper]) -> None:
    # Every worker sweeps (not only the leader): the claim is atomic in Redis, so an
    # alert fires once however many sweep, and a lone survivor keeps firing on time.
    if not await periodic("alert sweep", backlog.applied()):
        return
    result = await periodic("alert sweep", sweeper().tick())
    if result is not None and result.claimed:
        log.info("fired %d alerts; delivered %s", result.claimed, result.delivered)
