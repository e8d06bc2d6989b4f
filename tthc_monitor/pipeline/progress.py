"""Begin and record a batch: what to write, and progress once the state has it.

A ``Ledger`` knows what a batch's source has already recorded: ``begin`` chooses the
messages to write (``Work.fresh``) and which are dead letters; ``record`` records the
batch's progress and statistics once, after the writes and the dead letters, in one
call. Ledgers:

* the worker's (``streams/ledger.py``): record_progress.lua's judge and settle, by
  which a redelivered message counts once;
* ``replay``'s (``StoreLedger``): statistics per batch, no offsets (a file);
* ``rebuild``'s (``cli/rebuild.py``): every offset's outcome in its partition's account,
  progress recorded at the end.

``replay`` and ``rebuild`` may run several processes, each with its own ledger on the
same namespace: what they record is safe with several writers, since statistics are
added (HINCRBY), a progress offset only moves forward, and each source (partition) has
one writer (cli/processes.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from tthc_monitor.pipeline.message import Work
from tthc_monitor.pipeline.step import Forward, Step
from tthc_monitor.store.redis_store import DossierStore


class Ledger(Protocol):
    async def begin(self, work: Work) -> None:
        """Fill ``work.fresh`` (events to write) and ``work.letters`` (dead letters)."""

    async def record(self, work: Work) -> None:
        """The batch is written and its dead letters sent: record it, once."""


def begin_all(work: Work) -> None:
    """Every event is written, every rejection is a dead letter (no progress to skip)."""
    work.fresh = [i for i in work.items if i.event is not None and i.rejection is None]
    work.letters = [i for i in work.items if i.rejection is not None]


class Begin(Forward[Work]):
    def __init__(self, ledger: Ledger, next_step: Step[Any]) -> None:
        super().__init__(next_step)
        self.ledger = ledger

    async def submit(self, message: Work) -> None:
        await self.ledger.begin(message)
        await self.next_step.submit(message)


class Record(Forward[Work]):
    def __init__(self, ledger: Ledger, next_step: Step[Any]) -> None:
        super().__init__(next_step)
        self.ledger = ledger

    async def submit(self, message: Work) -> None:
        await self.ledger.record(message)
        await self.next_step.submit(message)


class StoreLedger:
    """Progress of Kafka sources (none for a file) and the batch's statistics, in one
    ``record_progress.lua`` call per batch. Invalid lines count as ``invalid_lines``,
    the rules' failures as ``dead_letters``."""

    def __init__(self, store: DossierStore) -> None:
        self.store = store

    async def begin(self, work: Work) -> None:
        begin_all(work)

    async def record(self, work: Work) -> None:
        offsets: dict[str, int] = {}
        for item in work.items:
            if item.position.partition is not None:
                offsets[item.source] = max(offsets.get(item.source, 0), item.offset + 1)
        stats = {
            # `applied`, `refused` and `event_id_conflicts` are counted by the write
            # itself (apply_dossier.lua).
            "duplicates": work.duplicates,
            "conflicts": work.conflicts,
            "invalid_lines": sum(1 for i in work.letters if _kind(i) == "invalid"),
            "dead_letters": sum(1 for i in work.letters if _kind(i) == "processing"),
        }
        await self.store.record(offsets, stats)


def _kind(item: Any) -> str:
    return str(item.rejection.kind) if item.rejection is not None else ""


class Commit(Step[Work]):
    """The end of a chain: tell the source the batch is done (ack its messages, move a
    progress bar). Reached only once the state and the progress have the batch."""

    def __init__(self, done: Callable[[Work], Awaitable[None] | None]) -> None:
        self.done = done

    async def submit(self, message: Work) -> None:
        outcome = self.done(message)
        if outcome is not None:
            await outcome


def counts(work: Work) -> Mapping[str, int]:
    """The batch's outcome, for summaries."""
    return {
        "applied": work.applied,
        "duplicates": work.duplicates,
        "refused": len(work.refused),
        "invalid": sum(1 for i in work.letters if _kind(i) == "invalid"),
        "rule_failures": sum(1 for i in work.letters if _kind(i) == "processing"),
    }
