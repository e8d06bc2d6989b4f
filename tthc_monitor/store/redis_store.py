"""Applies batches of validated events to Redis through the pure engine.

For every dossier of a batch: read its stored events and the contribution last
applied, fold the union with the new events, and write the new state together with
the counter difference in one Lua call guarded by the dossier's version. A known
``event_id`` changes nothing, so redelivery after a crash is harmless; a version
conflict (two writers on one dossier during a rebalance) is retried from a fresh read.
An ``event_id`` that another dossier already holds is refused (with its reason), not
taken for a duplicate. The Lua scripts check every key they write before writing
anything; a failed check (e.g. a counter hash that is a string) reaches the caller as
Redis' own error naming the key, is counted in ``STORE_REFUSALS``, and nothing of that
dossier is written, so retrying the batch once the key is fixed gives exact figures.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import resources
from typing import Any, TypeVar

import orjson
from prometheus_client import Counter as MetricCounter
from redis.asyncio import Redis
from redis.client import NEVER_DECODE
from redis.exceptions import ResponseError

from schemas.events import DossierEvent
from tthc_monitor.core.counters import DAY_PREFIX, GLOBAL_PERIOD
from tthc_monitor.core.engine import Engine
from tthc_monitor.core.freeze import adjustment_horizon, closed_changes
from tthc_monitor.core.schedule import diff_index, epoch
from tthc_monitor.core.update import DossierUpdate, plan_update
from tthc_monitor.store.freshness import record_applied
from tthc_monitor.store.keys import Keys
from tthc_monitor.store.schedule_codec import encode_plan
from tthc_monitor.store.snapshots import (
    SnapshotKeys,
    adjusting_call,
    local_now,
)
from tthc_monitor.store.state import (
    DossierState,
    decode_state,
    encode_state,
    encode_tombstone,
)

MAX_CONFLICT_RETRIES = 20
ALERT_HORIZON = timedelta(days=31)
PLAIN_WRITE, ADJUSTING_WRITE = 0, 1
WRITE_CHUNK = 100
"""Dossier writes per Lua call: large enough that the per-call cost vanishes, small
enough that one call never blocks Redis (and the wall's reads) for long."""
READ_CHUNK = 500
"""Dossier states per MGET."""
COMPACTED = "dossier compacted"
"""The reason of an event refused because its dossier was compacted."""
SCHEDULED = "@"
"""The state's only ``alerts`` entry since issue 15: ``{"@": last fire time planned}``
(before, one entry per alert id, a timer each)."""
KEEP_PLAN = "="
"""The plan argument of a write that cannot change the dossier's alerts (apply_dossier.lua)."""
CLOSED_MARK = "@closed:"
"""Unit field of a state's closed-index entry: ``@closed:{period}`` (store/state.py)."""

STORE_REFUSALS = MetricCounter(
    "tthc_worker_store_refusals",
    "Store calls Redis refused, by script and Redis' error code (e.g. WRONGTYPE: a key "
    "the script writes holds another type). The scripts check before writing, so "
    "nothing was written; the batch is retried until the key is fixed.",
    ["script", "code"],
    registry=None,  # the worker's registry takes it (streams/worker_metrics.py)
)


def refused_by_redis(script: str, error: ResponseError) -> None:
    """Count a call Redis refused, by Redis' error code: the reply's first word when it is
    one (WRONGTYPE, OOM, ...); redis-py drops the generic ERR from the message."""
    first = str(error).split(" ", 1)[0]
    code = first[:32] if first.isupper() and first.isalpha() else "ERR"
    STORE_REFUSALS.labels(script, code).inc()


class StoreBusy(Exception):
    """Version conflicts did not settle: transient, the caller retries the batch later."""


class ProcessingError(Exception):
    """The pure rules failed on a dossier: deterministic, retrying cannot help."""

    def __init__(self, dossier_id: str, cause: BaseException) -> None:
        super().__init__(f"dossier {dossier_id}: {type(cause).__name__}")
        self.dossier_id = dossier_id


def load_script(name: str) -> str:
    return resources.files("tthc_monitor.store").joinpath("lua", name).read_text("utf-8")


def batch_script() -> str:
    """apply_batch.lua after the two write scripts, each as a local function."""
    return (
        f"local function apply_dossier(KEYS, ARGV)\n{load_script('apply_dossier.lua')}\nend\n"
        "local function record_adjustments(KEYS, ARGV)\n"
        f"{load_script('record_adjustments.lua')}\nend\n"
        f"{load_script('apply_batch.lua')}"
    )


@dataclass(frozen=True)
class Incoming:
    """One validated event (``apply``'s input outside the pipeline)."""

    event: DossierEvent


T = TypeVar("T")


def group_by_dossier(
    items: Iterable[T], event_of: Callable[[T], DossierEvent]
) -> dict[str, list[T]]:
    """Items by their event's dossier id, in arrival order: the store folds each group
    once. The one place a batch is grouped (the pipeline's ``GroupByDossier`` too)."""
    groups: dict[str, list[T]] = {}
    for item in items:
        groups.setdefault(event_of(item).dossier_id, []).append(item)
    return groups


@dataclass
class BatchResult:
    applied: int = 0
    duplicates: int = 0
    conflicts: int = 0
    dossiers: int = 0
    refused: list[tuple[str, str, str]] = field(default_factory=list)
    """(dossier_id, event_id, reason) of refused events: out of sequence (the rules), or
    an event id another dossier already holds (counted in ``event_id_conflicts`` too)."""


@dataclass(frozen=True)
class _Call:
    dossier_id: str
    keys: list[str]
    args: list[Any]
    fresh: int
    duplicates: int
    refused: list[tuple[str, str, str]]
    kind: int
    """PLAIN_WRITE (apply_dossier.lua) or ADJUSTING_WRITE (the same write, also listing
    it as an adjustment of the frozen periods it changes: record_adjustments.lua)."""
    state: bytes
    """The dossier's new state, encoded (tthc_monitor/store/state.py)."""


class DossierStore:
    def __init__(
        self,
        redis: Redis,
        engine: Engine,
        namespace: str = "tthc",
        clock: Callable[[], datetime] = local_now,
        alert_horizon: timedelta = ALERT_HORIZON,
    ) -> None:
        self.redis = redis
        self.engine = engine
        self.keys = Keys(namespace)
        self.snapshot_keys = SnapshotKeys(namespace)
        self.clock = clock
        """Decides which writes may be adjustments of a frozen period, and their time;
        and which planned alerts are too old to schedule (``alert_horizon``)."""
        self.alert_horizon = alert_horizon
        self._apply_batch = redis.register_script(batch_script())
        self._progress = redis.register_script(load_script("record_progress.lua"))
        self._refuse_compacted = redis.register_script(load_script("refuse_compacted.lua"))

    async def apply(self, batch: Sequence[Incoming]) -> BatchResult:
        """Write a batch and count its duplicates and conflicts (a caller outside the
        pipeline: tests, tools). The pipeline calls ``apply_groups`` and records the
        batch's statistics with its progress, once (tthc_monitor/pipeline)."""
        events = [item.event for item in batch]
        result = await self.apply_groups(group_by_dossier(events, lambda event: event))
        await self._record_statistics(result)
        return result

    async def apply_groups(self, by_dossier: Mapping[str, Sequence[DossierEvent]]) -> BatchResult:
        """Write each dossier's events (grouped by ``group_by_dossier``); records no
        statistics."""
        result = BatchResult()
        result.dossiers = len(by_dossier)
        pending: dict[str, list[DossierEvent]] = {d: list(e) for d, e in by_dossier.items()}
        for attempt in range(MAX_CONFLICT_RETRIES):
            pending = await self._apply_once(pending, result)
            if not pending:
                break
            # Jitter, so that writers racing on one dossier stop colliding.
            await asyncio.sleep(random.uniform(0, 0.002 * (attempt + 1)))
        if pending:
            raise StoreBusy(f"gave up after {MAX_CONFLICT_RETRIES} version conflicts")
        if result.applied:
            # The wall's freshness (store/freshness.py): the data is as recent as this.
            latest = max(e.occurred_at for events in by_dossier.values() for e in events)
            await record_applied(self.redis, self.keys.namespace, latest)
        return result

    async def _apply_once(
        self, pending: Mapping[str, list[DossierEvent]], result: BatchResult
    ) -> dict[str, list[DossierEvent]]:
        """Try every pending dossier once; returns what must be tried again."""
        dossier_ids = list(pending)
        stored = await self._read(dossier_ids)

        now = self.clock()
        # Only writes to periods that have ended can touch a frozen one: the others
        # (nearly all, in steady state) keep the plain write.
        horizon = adjustment_horizon(self.engine.periods, now)
        oldest_alert = now - self.alert_horizon
        calls: list[_Call] = []
        again: dict[str, list[DossierEvent]] = {}
        for dossier_id, state in zip(dossier_ids, stored, strict=True):
            if state.compacted:
                if not await self._meet_tombstone(dossier_id, state, pending[dossier_id], result):
                    again[dossier_id] = pending[dossier_id]
                continue
            try:
                update = plan_update(
                    self.engine,
                    dossier_id,
                    state.events,
                    state.contribution,
                    pending[dossier_id],
                    # Alerts older than the horizon are not scheduled when first planned
                    # (apply_dossier.lua), so with none scheduled they need not be planned.
                    None if state.alerts else oldest_alert,
                    # A state listing alert ids was scheduled one timer per alert (before
                    # issue 15): its next write re-plans, moving them into the record.
                    may_keep_plan=all(a == SCHEDULED for a in state.alerts),
                )
            except Exception as error:
                raise ProcessingError(dossier_id, error) from error
            if not update.fresh_ids:
                result.duplicates += update.duplicates
                continue
            keys, args, encoded = self._apply_args(dossier_id, state, update, now)
            kind = PLAIN_WRITE
            closed = closed_changes(update.changes, horizon)
            if closed:
                record = {
                    "event_id": update.fresh_ids[0],
                    "event_ids": list(update.fresh_ids),
                    "dossier_id": dossier_id,
                    "applied_at": now.isoformat(),
                }
                keys, args = adjusting_call(
                    keys,
                    args,
                    closed,
                    self.snapshot_keys,
                    self.keys.counters,
                    record,
                )
                kind = ADJUSTING_WRITE
            refused = [(dossier_id, r.event_id, r.reason) for r in update.refused]
            calls.append(
                _Call(
                    dossier_id,
                    keys,
                    args,
                    len(update.fresh_ids),
                    update.duplicates,
                    refused,
                    kind,
                    encoded,
                )
            )

        if not calls:
            return again
        outcomes = await self._write(calls)
        for call, outcome in zip(calls, outcomes, strict=True):
            if outcome == -1:
                result.conflicts += 1
                again[call.dossier_id] = pending[call.dossier_id]
                continue
            if isinstance(outcome, list):
                # Event ids another dossier holds: refused, and recorded by the script;
                # a redelivery of one already recorded is a duplicate. The dossier's other
                # events are planned again without them.
                events = pending[call.dossier_id]
                taken = set()
                for n in range(1, len(outcome), 3):
                    event_id, holder = _text(outcome[n]), _text(outcome[n + 1])
                    taken.add(event_id)
                    copies = sum(1 for e in events if e.event_id == event_id)
                    if int(outcome[n + 2]):
                        reason = f"event_id already used by dossier {holder}"
                        result.refused.append((call.dossier_id, event_id, reason))
                        copies -= 1
                    result.duplicates += copies
                rest = [e for e in events if e.event_id not in taken]
                if rest:
                    again[call.dossier_id] = rest
                continue
            result.applied += call.fresh
            result.duplicates += call.duplicates
            result.refused.extend(call.refused)
        return again

    async def _meet_tombstone(
        self,
        dossier_id: str,
        state: DossierState,
        events: Sequence[DossierEvent],
        result: BatchResult,
    ) -> bool:
        """Events of a compacted dossier (docs/redis-layout.md, "Retention"): a known id
        is a duplicate; a new one is refused (``dossier compacted``), recorded in the
        tombstone and counted in ``refused`` and ``refused_compacted`` in one call, once
        (a redelivery is a duplicate). False: the tombstone changed meanwhile, try again."""
        fresh: list[str] = []
        duplicates = 0
        for event in events:
            if (
                event.event_id in state.event_ids
                or event.event_id in state.refused_ids
                or event.event_id in fresh
            ):
                duplicates += 1
            else:
                fresh.append(event.event_id)
        if fresh:
            tombstone = encode_tombstone(
                dossier_id, state.event_ids, state.refused_ids | set(fresh)
            )
            keys = [self.keys.dossier(dossier_id), self.keys.stats]
            reply = await self._refuse_compacted(
                keys=keys, args=[state.version, tombstone, len(fresh)]
            )
            if int(reply) == -1:
                result.conflicts += 1
                return False
            result.refused.extend((dossier_id, e, COMPACTED) for e in fresh)
        result.duplicates += duplicates
        return True

    async def _read(self, dossier_ids: Sequence[str]) -> list[DossierState]:
        """The stored state of each dossier, in one round trip."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for start in range(0, len(dossier_ids), READ_CHUNK):
                chunk = dossier_ids[start : start + READ_CHUNK]
                # The states are binary: read past the client's text decoding.
                pipe.execute_command(
                    "MGET", *[self.keys.dossier(d) for d in chunk], **{NEVER_DECODE: True}
                )
            replies = await pipe.execute()
        raws = [raw for reply in replies for raw in reply]
        return [decode_state(raw, d) for raw, d in zip(raws, dossier_ids, strict=True)]

    async def _write(self, calls: Sequence[_Call]) -> list[Any]:
        """Run the writes in chunks of one Lua call each, in one round trip."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for start in range(0, len(calls), WRITE_CHUNK):
                keys: dict[str, int] = {}
                body: list[Any] = []
                states: list[bytes] = []
                for call in calls[start : start + WRITE_CHUNK]:
                    # Positions are 1-based, as Lua counts; ARGV[1] is the body.
                    positions = [keys.setdefault(key, len(keys) + 1) for key in call.keys]
                    args = [a if isinstance(a, str) else str(a) for a in call.args]
                    states.append(call.state)
                    body.append([call.kind, positions, args, len(states) + 1])
                payload = orjson.dumps(body)
                await self._apply_batch(keys=list(keys), args=[payload, *states], client=pipe)
            # Not raise_on_error: redis-py would prefix the error with the command, i.e.
            # the chunk's arguments; the worker logs Redis' own message only.
            replies = await pipe.execute(raise_on_error=False)
        for reply in replies:
            if isinstance(reply, ResponseError):
                refused_by_redis("apply_batch", reply)
                raise reply
        return [outcome for reply in replies for outcome in reply]

    def _apply_args(
        self, dossier_id: str, stored: DossierState, update: DossierUpdate, now: datetime
    ) -> tuple[list[str], list[Any], bytes]:
        """Keys and arguments of apply_dossier.lua (the state in its own, binary, value)."""
        counter_keys: dict[str, int] = {}
        triples: list[str] = []
        periods: set[str] = set()
        keys = [
            self.keys.dossier(dossier_id),
            self.keys.periods,
            self.keys.event_ids,
            self.keys.stats,
            self.keys.timers,
            self.keys.alert_records,
            self.keys.fired,
            self.keys.event_id_conflicts,
        ]
        # Running totals over the periods (store/totals.py), in the same call as the
        # period deltas, so they cannot drift from them.
        totals: dict[str, int] = {}
        # One pass, the key split once (``period|unit|metric``: the hash field is the
        # rest after the period): this loop ran ~14 times per write, twice.
        for key, delta in sorted(update.changes.items()):
            period, _, counter_field = key.partition("|")
            redis_key = self.keys.counters(period)
            position = counter_keys.get(redis_key)
            if position is None:
                keys.append(redis_key)
                position = counter_keys[redis_key] = len(keys)  # Lua indexes from 1
                # Day buckets (the wall's "today") stay out of the periods set, so
                # snapshots and freezes never see them.
                if period != GLOBAL_PERIOD and not period.startswith(DAY_PREFIX):
                    periods.add(period)
            triples.append(f"{position}\t{counter_field}\t{delta}\n")
            if period in periods:
                totals[counter_field] = totals.get(counter_field, 0) + delta
        if any(totals.values()):
            keys.append(self.keys.totals)
            triples.extend(f"{len(keys)}\t{f}\t{d}\n" for f, d in sorted(totals.items()) if d)
        # One timer per dossier (docs/alerts.md): the whole plan goes to the script, which
        # keeps what has not fired and applies the horizon. Ids the state lists are timers
        # of the layout before (one per alert), moved into the record by this write.
        old = now - self.alert_horizon
        cutoff = epoch(old)
        if update.alerts_kept:
            # The plan cannot have changed (plan-neutral events): record, timer and the
            # state's note of them stay as they are.
            legacy: list[str] = []
            plan = KEEP_PLAN
            scheduled = dict(stored.alerts)
        else:
            legacy = sorted(a for a in stored.alerts if a != SCHEDULED)
            plan = encode_plan(update.alerts)
            # (Alerts the script drops for the horizon are not remembered, as before.)
            latest = max(
                (epoch(a.fire_at) for a in update.alerts if stored.alerts or a.fire_at >= old),
                default=None,
            )
            # The state remembers only that alerts were planned (and the last fire time,
            # for compaction): planning may then skip nothing (alerts_not_before).
            scheduled = {} if latest is None else {SCHEDULED: latest}
        due_entries = [e for e in stored.index if not str(e[0]).startswith(CLOSED_MARK)]
        index = diff_index(dossier_id, update.running, due_entries)
        # Few, larger arguments: redis-py's packing costs per argument, cjson does not.
        index_changes: list[list[Any]] = []
        for unit_id, member, due in index.put:
            position = self._key_index(keys, self.keys.open_index(unit_id))
            index_changes.append([position, member, str(due)])
            if not member.endswith("|owner"):  # also in the inter-agency index
                position = self._key_index(keys, self.keys.open_interagency(unit_id))
                index_changes.append([position, member, str(due)])
        for unit_id, member in index.remove:
            index_changes.append([self._key_index(keys, self.keys.open_index(unit_id)), member, ""])
            if not member.endswith("|owner"):
                position = self._key_index(keys, self.keys.open_interagency(unit_id))
                index_changes.append([position, member, ""])
        # The closed index (compaction's candidates): one entry while the dossier is
        # closed with nothing running, under its latest counter period; moved or removed
        # in the same write when that changes (a reopening, a late event).
        old_closed = [e for e in stored.index if str(e[0]).startswith(CLOSED_MARK)]
        new_closed = self._closed_entry(dossier_id, update)
        index_state = index.state + ([new_closed] if new_closed else [])
        for entry in old_closed:
            if new_closed is None or entry[0] != new_closed[0]:
                position = self._key_index(keys, self.keys.closed(entry[0][len(CLOSED_MARK) :]))
                index_changes.append([position, dossier_id, ""])
        if new_closed and new_closed not in old_closed:
            position = self._key_index(keys, self.keys.closed(new_closed[0][len(CLOSED_MARK) :]))
            index_changes.append([position, dossier_id, str(new_closed[2])])
        args: list[Any] = [
            stored.version,
            "",  # the state, sent beside (apply_batch.lua)
            dossier_id,
            len(update.fresh_ids),
            *update.fresh_ids,
            len(update.refused),
            len(periods),
            *sorted(periods),
            plan,
            _compact([cutoff, legacy]),
            _compact(index_changes),
            "".join(triples),
        ]
        state = encode_state(update.events, update.contribution, scheduled, index_state)
        return keys, args, state

    def _closed_entry(self, dossier_id: str, update: DossierUpdate) -> list[Any] | None:
        """``[@closed:{period}, dossier_id, close time]`` of a closed dossier with no span
        running; ``period``: the latest of its counter periods and of its close, so that
        once it is frozen every figure the dossier moved is frozen too."""
        if update.closed_at is None or update.running:
            return None
        period = self.engine.periods.period_of(update.closed_at)
        for key in update.contribution:
            name = key.partition("|")[0]  # the period (counter keys: period|unit|metric)
            if name != GLOBAL_PERIOD and not name.startswith(DAY_PREFIX):
                period = max(period, name)
        return [CLOSED_MARK + period, dossier_id, epoch(update.closed_at)]

    @staticmethod
    def _key_index(keys: list[str], key: str) -> int:
        """Position (1-based, as Lua counts) of ``key`` in ``keys``, appending it if new."""
        if key not in keys:
            keys.append(key)
        return keys.index(key) + 1

    async def _record_statistics(self, result: BatchResult) -> None:
        # `applied`, `refused` and `event_id_conflicts` are counted by the write itself
        # (apply_dossier.lua).
        await self.record({}, {"duplicates": result.duplicates, "conflicts": result.conflicts})

    async def record(
        self,
        offsets: Mapping[str, int],
        stats: Mapping[str, int],
        worker: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Advance progress offsets and bump statistics, in one atomic call.

        ``worker``: the worker's parts of the call (``judge``, ``claim``, ``settle``:
        record_progress.lua), by which a message counts once however often it is
        delivered, and a dead letter is sent once. Returns the script's answer (empty
        when there was nothing to record).
        """
        request: dict[str, Any] = dict(worker or {})
        if offsets:
            request["progress"] = dict(offsets)
        counted = {name: amount for name, amount in stats.items() if amount}
        if counted:
            request["stats"] = counted
        if not request:
            return {}
        keys = [
            self.keys.progress,
            self.keys.stats,
            self.keys.ledger,
            self.keys.event_ids,
            self.keys.event_id_conflicts,
        ]
        reply = await self._progress(keys=keys, args=[orjson.dumps(request)])
        answer: dict[str, Any] = orjson.loads(reply)
        return answer

    # -- reading ---------------------------------------------------------------------
    async def read_counters(self) -> dict[str, dict[str, int]]:
        """Every period's counters: period -> {"unit|metric": value}."""
        periods = sorted(_text(p) for p in await self.redis.smembers(self.keys.periods))
        async with self.redis.pipeline(transaction=False) as pipe:
            for period in periods:
                pipe.hgetall(self.keys.counters(period))
            values = await pipe.execute()
        return {period: _ints(raw) for period, raw in zip(periods, values, strict=True)}

    async def read_global(self) -> dict[str, int]:
        raw = _ints(await self.redis.hgetall(self.keys.counters("all")))
        return {field.strip("|"): value for field, value in raw.items()}

    async def read_progress(self) -> dict[str, int]:
        return _ints(await self.redis.hgetall(self.keys.progress))

    async def read_stats(self) -> dict[str, int]:
        return _ints(await self.redis.hgetall(self.keys.stats))


def _compact(value: Any) -> str:
    # str, not bytes: the arguments travel inside the chunk's JSON document.
    return orjson.dumps(value).decode()


def _text(value: str | bytes) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


def _ints(raw: Mapping[Any, Any]) -> dict[str, int]:
    return {_text(key): int(value) for key, value in raw.items()}
