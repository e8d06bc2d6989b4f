"""One pipeline for every input: the worker's Kafka stream, ``replay``'s file and
``rebuild``'s topic read from offset 0 (docs/architecture.md, "The pipeline").

    Raw ─▶ Decode ─▶ Batch ─▶ Retry ─▶ Begin ─▶ DeadLetters ─▶ GroupByDossier ─▶ Apply
                                       ─▶ DeadLetters ─▶ Record ─▶ Commit

The change-data-capture translator runs on the same steps (``translate.py``):

    Raw ─▶ DecodeEnvelope ─▶ Translate ─▶ Batch ─▶ Retry ─▶ Begin ─▶ DeadLetters
        ─▶ Publish ─▶ Commit

Each step is a small class with ``submit``/``poll``/``join``/``close`` (after
getsentry/arroyo's processing strategies); a source feeds the first, and a command
chooses the ledger, the dead-letter sink and what ``Commit`` does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from tthc_monitor.core.engine import Engine
from tthc_monitor.pipeline.apply import Apply, GroupByDossier
from tthc_monitor.pipeline.batching import Batch
from tthc_monitor.pipeline.dead_letters import (
    DeadLetters,
    DeadLetterSink,
    FileDeadLetters,
    NoDeadLetters,
)
from tthc_monitor.pipeline.decode import Decode, decode_raw
from tthc_monitor.pipeline.message import Decoded, Raw, Work
from tthc_monitor.pipeline.position import Position, source_key
from tthc_monitor.pipeline.progress import (
    Begin,
    Commit,
    Ledger,
    Record,
    StoreLedger,
    begin_all,
    counts,
)
from tthc_monitor.pipeline.publish import Publish
from tthc_monitor.pipeline.retry import Retry, always, describe_failure, transient
from tthc_monitor.pipeline.step import Step
from tthc_monitor.pipeline.translate import (
    DecodeEnvelope,
    Translate,
    Translated,
    build_translator,
)
from tthc_monitor.store.redis_store import DossierStore, group_by_dossier

__all__ = [
    "Apply",
    "Batch",
    "Begin",
    "Commit",
    "DeadLetterSink",
    "DeadLetters",
    "Decode",
    "DecodeEnvelope",
    "Decoded",
    "FileDeadLetters",
    "GroupByDossier",
    "Ledger",
    "NoDeadLetters",
    "Position",
    "Publish",
    "Raw",
    "Record",
    "Retry",
    "Step",
    "StoreLedger",
    "Translate",
    "Translated",
    "Work",
    "always",
    "begin_all",
    "build",
    "build_translator",
    "counts",
    "decode_raw",
    "describe_failure",
    "group_by_dossier",
    "source_key",
    "transient",
]


def apply_chain(
    store: DossierStore, ledger: Ledger, sink: DeadLetterSink, after: Step[Work]
) -> Step[Work]:
    """One attempt at a batch: begin, invalid input aside, group, apply, the rules'
    failures aside, record; then ``after`` (the worker's metrics, ``Commit``)."""
    return Begin(
        ledger,
        DeadLetters(
            sink,
            GroupByDossier(Apply(store, DeadLetters(sink, Record(ledger, after)))),
        ),
    )


def build(
    *,
    engine: Engine,
    store: DossierStore,
    ledger: Ledger,
    sink: DeadLetterSink,
    done: Callable[[Work], Awaitable[None] | None] | None = None,
    after: Step[Work] | None = None,
    max_size: int,
    max_wait: float | None = None,
    per_source: bool = False,
    retry_on: Callable[[Exception], bool] | None = None,
    sleep: Callable[[float], Awaitable[Any]] | None = None,
    should_stop: Callable[[], bool] | None = None,
    on_stop: Callable[[Sequence[Decoded]], None] | None = None,
) -> Step[Raw]:
    """The whole pipeline, raw messages in. ``after`` (default: ``Commit(done)``) ends
    the chain once a batch is recorded."""
    end = after if after is not None else Commit(done or (lambda work: None))
    retry = Retry(
        apply_chain(store, ledger, sink, end),
        retry_on=retry_on,
        sleep=sleep,
        should_stop=should_stop,
        on_stop=on_stop,
    )
    batch = Batch(retry, max_size=max_size, max_wait=max_wait, per_source=per_source)
    return Decode(engine, batch)
