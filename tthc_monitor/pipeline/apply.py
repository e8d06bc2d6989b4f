"""Group by dossier, then apply: the only place the events of a batch are grouped.

A ``ProcessingError`` (the pure rules failed on one dossier: deterministic, retrying
cannot help) turns that dossier's events into dead letters and the rest of the batch is
applied; any other failure propagates to the retry step.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

from schemas.events import DossierEvent
from tthc_monitor.ingest import Rejection
from tthc_monitor.pipeline.message import Decoded, Work
from tthc_monitor.pipeline.step import Forward, Step
from tthc_monitor.store.redis_store import DossierStore, ProcessingError, group_by_dossier

log = logging.getLogger("tthc_monitor.pipeline")


class GroupByDossier(Forward[Work]):
    async def submit(self, message: Work) -> None:
        message.groups = group_by_dossier(message.fresh, _event)
        await self.next_step.submit(message)


def _event(item: Decoded) -> DossierEvent:
    assert item.event is not None  # ``Work.fresh`` holds events only
    return item.event


def processing_rejection(error: ProcessingError, event_id: str) -> Rejection:
    cause = error.__cause__.__class__.__name__ if error.__cause__ else "error"
    return Rejection(f"processing error: {cause}", event_id, None, kind="processing")


class Apply(Forward[Work]):
    def __init__(self, store: DossierStore, next_step: Step[Any]) -> None:
        super().__init__(next_step)
        self.store = store

    async def submit(self, message: Work) -> None:
        groups = dict(message.groups)
        while groups:
            events = {d: [_event(i) for i in items] for d, items in groups.items()}
            try:
                result = await self.store.apply_groups(events)
            except ProcessingError as error:
                # Only that dossier's events go aside; the rest of the batch is applied.
                failed = groups.pop(error.dossier_id)
                message.letters.extend(
                    item.rejected(processing_rejection(error, item.event.event_id))
                    for item in failed
                    if item.event is not None
                )
                continue
            message.written_at = time.time()
            message.applied += result.applied
            message.duplicates += result.duplicates
            message.conflicts += result.conflicts
            message.refused.extend(result.refused)
            message.submitted = _count(events)
            for dossier_id, event_id, why in result.refused:
                log.info("refused event %s of dossier %s: %s", event_id, dossier_id, why)
            break
        message.groups = groups
        await self.next_step.submit(message)


def _count(groups: Mapping[str, Sequence[Any]]) -> int:
    return sum(len(group) for group in groups.values())
