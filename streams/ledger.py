"""The worker's ledger: a message counts once however often it is delivered.

``begin`` judges the batch (record_progress.lua's ``judge``): which events are
duplicates, decided once and kept until the batch is recorded, and the partitions'
recorded progress, below which messages are written, counted and settled already.
``record`` settles it: progress, the statistics of the messages beyond the recorded
progress only, and the release of the dead letters' claims, in one call. A crash
anywhere in between leaves a state the next attempt completes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from streams import worker_metrics
from streams.dead_letters import KafkaDeadLetters
from tthc_monitor.pipeline import Decoded, Work
from tthc_monitor.store.redis_store import DossierStore


def judge_request(items: Iterable[Decoded]) -> dict[str, list[list[Any]]]:
    """record_progress.lua's ``judge``: per partition, ascending, [offset, event id,
    dossier id] of an event and [offset] of any other message."""
    by_source: dict[str, list[list[Any]]] = defaultdict(list)
    for item in sorted(items, key=lambda i: (i.source, i.offset)):
        if item.event is not None:
            by_source[item.source].append([item.offset, item.event.event_id, item.event.dossier_id])
        else:
            by_source[item.source].append([item.offset])
    return dict(by_source)


def next_offsets(items: Iterable[Decoded]) -> dict[str, int]:
    """Partition -> the offset after the batch's last message there."""
    offsets: dict[str, int] = {}
    for item in items:
        offsets[item.source] = max(offsets.get(item.source, 0), item.offset + 1)
    return offsets


class WorkerLedger:
    def __init__(self, store: Callable[[], DossierStore], dead_letters: KafkaDeadLetters) -> None:
        self.store = store
        self.dead_letters = dead_letters

    async def begin(self, work: Work) -> None:
        begun = await self.store().record({}, {}, {"judge": judge_request(work.items)})
        progress: dict[str, int] = begun["progress"]
        # Every rejection is handed to the sink: its claim says whether it was sent.
        work.letters = [i for i in work.items if i.rejection is not None]
        work.fresh = [
            i for i in work.items if i.rejection is None and i.offset >= progress.get(i.source, 0)
        ]

    async def record(self, work: Work) -> None:
        # Progress last: `publish --wait` must not see the end before the writes.
        settle: dict[str, dict[str, Any]] = {
            source: {"next": offset, "letters": []}
            for source, offset in next_offsets(work.items).items()
        }
        for item in work.letters:
            settle[item.source]["letters"].append(item.offset)
        done = await self.store().record(
            {}, {}, {"settle": settle, "once": {"batches": 1, "conflicts": work.conflicts}}
        )
        self.dead_letters.recorded(work.letters)
        counted: dict[str, int] = done["counted"]
        worker_metrics.EVENTS.labels("duplicate").inc(counted.get("duplicates", 0))
        worker_metrics.EVENTS.labels("dead_letter").inc(counted.get("dead_letters", 0))
        worker_metrics.BATCHES.inc(counted.get("batches", 0))
