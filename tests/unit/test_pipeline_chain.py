"""The whole pipeline on a store and ledger in memory: one error policy, progress after
state, each dead letter once. (The integration and fault suites run the same steps on
real Redis and Kafka: tests/integration/test_pipeline.py, tests/faults/.)"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from schemas.events import DossierEvent
from tests.integration import scenario
from tthc_monitor.core.engine import Engine
from tthc_monitor.pipeline import (
    FileDeadLetters,
    NoDeadLetters,
    Position,
    Raw,
    Work,
    begin_all,
    build,
)
from tthc_monitor.pipeline.dead_letters import LoggedDeadLetters
from tthc_monitor.store.redis_store import BatchResult, ProcessingError, StoreBusy

PERSONAL = "Nguyễn Văn A"


class MemoryStore:
    """``apply_groups`` as the store's contract has it: each event id once; a dossier in
    ``poison`` fails in the rules; ``busy`` calls fail with StoreBusy first."""

    def __init__(self, poison: Sequence[str] = (), busy: int = 0) -> None:
        self.events: dict[str, set[str]] = {}
        self.poison = set(poison)
        self.busy = busy
        self.calls: list[dict[str, list[str]]] = []

    async def apply_groups(self, groups: Mapping[str, Sequence[DossierEvent]]) -> BatchResult:
        self.calls.append({d: [e.event_id for e in events] for d, events in groups.items()})
        if self.busy:
            self.busy -= 1
            raise StoreBusy("conflicts did not settle")
        for dossier in groups:
            if dossier in self.poison:
                try:
                    raise ZeroDivisionError
                except ZeroDivisionError as cause:
                    raise ProcessingError(dossier, cause) from cause
        result = BatchResult(dossiers=len(groups))
        for dossier, events in groups.items():
            known = self.events.setdefault(dossier, set())
            for event in events:
                if event.event_id in known:
                    result.duplicates += 1
                else:
                    known.add(event.event_id)
                    result.applied += 1
        return result


class MemoryLedger:
    """Records each batch once, in order; ``fail_records`` first records fail."""

    def __init__(self, fail_records: int = 0) -> None:
        self.fail_records = fail_records
        self.records: list[dict[str, Any]] = []

    async def begin(self, work: Work) -> None:
        begin_all(work)

    async def record(self, work: Work) -> None:
        if self.fail_records:
            self.fail_records -= 1
            raise ConnectionError("progress store unreachable")
        self.records.append(
            {
                "offsets": [i.offset for i in work.items],
                "applied": work.applied,
                "duplicates": work.duplicates,
                "letters": [i.where for i in work.letters],
            }
        )


def lines(count: int) -> list[bytes]:
    return [json.dumps(e, ensure_ascii=False).encode() for e in scenario.events()[:count]]


def raws(values: Sequence[bytes | None], topic: str = "events", partition: int = 0) -> list[Raw]:
    return [Raw(Position(topic, partition, n), value) for n, value in enumerate(values)]


def pipeline_for(
    engine: Engine, store: MemoryStore, ledger: MemoryLedger, sink: object, done: list[Work]
) -> object:
    async def nap(seconds: float) -> None:
        return None

    return build(
        engine=engine,
        store=store,  # type: ignore[arg-type]
        ledger=ledger,
        sink=sink,  # type: ignore[arg-type]
        done=done.append,
        max_size=100,
        sleep=nap,
    )


async def test_invalid_input_is_named_once_and_the_batch_goes_on(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    good = lines(6)
    bad = json.loads(good[0])
    bad["event_id"] = "bad-1"
    bad["citizen_name"] = PERSONAL  # a field the contract forbids: personal data
    values = [*good[:3], json.dumps(bad).encode(), b"not json", *good[3:]]
    store, ledger, done = MemoryStore(), MemoryLedger(), []
    pipeline = pipeline_for(engine, store, ledger, LoggedDeadLetters(), done)
    with caplog.at_level("WARNING"):
        for raw in raws(values):
            await pipeline.submit(raw)  # type: ignore[attr-defined]
        await pipeline.join()  # type: ignore[attr-defined]
    assert [r["letters"] for r in ledger.records] == [["events:0:3", "events:0:4"]]
    assert ledger.records[0]["applied"] == 6
    lines_logged = [m for m in caplog.messages if m.startswith("dead letter")]
    assert len(lines_logged) == 2
    assert lines_logged[0].startswith(
        "dead letter at topic events partition 0 offset 3: event 'bad-1': "
    )
    assert "citizen_name" in lines_logged[0] and PERSONAL not in caplog.text
    assert lines_logged[1] == (
        "dead letter at topic events partition 0 offset 4: event (no event_id): not valid JSON"
    )
    assert len(done) == 1


async def test_a_processing_error_sets_its_dossier_aside_and_applies_the_rest(
    engine: Engine, tmp_path: object
) -> None:
    values = lines(12)
    events = [json.loads(v) for v in values]
    victim = events[0]["dossier_id"]
    victims = [n for n, e in enumerate(events) if e["dossier_id"] == victim]
    store, ledger, done = MemoryStore(poison=[victim]), MemoryLedger(), []
    letters_file = tmp_path / "dead.jsonl"  # type: ignore[operator]
    sink = FileDeadLetters(letters_file)
    pipeline = pipeline_for(engine, store, ledger, sink, done)
    for raw in raws(values, topic="month.jsonl"):
        await pipeline.submit(raw)  # type: ignore[attr-defined]
    await pipeline.join()  # type: ignore[attr-defined]
    sink.close()
    assert ledger.records[0]["applied"] == len(values) - len(victims)
    assert ledger.records[0]["letters"] == [f"month.jsonl:0:{n}" for n in victims]
    # The second call holds every dossier but the victim: grouped once, applied once.
    assert victim in store.calls[0] and victim not in store.calls[1]
    written = [json.loads(line) for line in letters_file.read_text().splitlines()]
    assert [w["offset"] for w in written] == victims
    assert {w["reason"] for w in written} == {"processing error: ZeroDivisionError"}
    assert {w["kind"] for w in written} == {"processing"}


async def test_progress_only_after_the_state_and_letters_once_across_retries(
    engine: Engine, tmp_path: object
) -> None:
    values = [*lines(4), b"{}"]
    # The store is busy once, then the progress record fails once: three attempts.
    store, ledger, done = MemoryStore(busy=1), MemoryLedger(fail_records=1), []
    letters_file = tmp_path / "dead.jsonl"  # type: ignore[operator]
    sink = FileDeadLetters(letters_file)
    pipeline = pipeline_for(engine, store, ledger, sink, done)
    for raw in raws(values):
        await pipeline.submit(raw)  # type: ignore[attr-defined]
    await pipeline.join()  # type: ignore[attr-defined]
    sink.close()
    assert len(store.calls) == 3
    assert len(ledger.records) == 1  # recorded once, after a write that succeeded
    # The second write found the events; the third attempt (after the failed record)
    # found them again: duplicates for the store, once in the record.
    assert ledger.records[0]["duplicates"] == 4
    assert len(letters_file.read_text().splitlines()) == 1
    assert len(done) == 1


async def test_rebuild_like_sink_sends_nothing_but_counts(engine: Engine) -> None:
    store, ledger, done = MemoryStore(), MemoryLedger(), []
    pipeline = pipeline_for(engine, store, ledger, NoDeadLetters(), done)
    for raw in raws([b"", *lines(2)]):
        await pipeline.submit(raw)  # type: ignore[attr-defined]
    await pipeline.join()  # type: ignore[attr-defined]
    assert ledger.records[0]["letters"] == ["events:0:0"]
    assert done[0].letters[0].rejection is not None
    assert done[0].letters[0].rejection.kind == "invalid"
