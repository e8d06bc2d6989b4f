"""Frozen snapshot versions and adjustments in Redis (docs/redis-layout.md, "Snapshots").

A freeze reads the running totals and the counter hashes from the first covered period
on (docs/redis-layout.md, "Running totals") under WATCH, builds the documents
with the pure rules (:mod:`tthc_monitor.core.freeze`) and writes the new versions in one
MULTI/EXEC. If anything watched changes in between (a concurrent freeze, a late event
for the period or an earlier one) EXEC fails and the freeze starts again from a fresh
read, so a version always matches the counters at one instant, its number is taken
once, and a version key is never written twice. The automatic freeze checks for an
automatic version inside the same transaction, so concurrent workers make one.

Adjustments are recorded by the dossier store, in the same Lua call as the write
(``record_adjustments.lua``, run inside the store's batch script).
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import WatchError

from tthc_monitor.core.freeze import (
    AUTO_MONTHS,
    Adjustment,
    VersionInfo,
    due_periods,
    frozen_snapshot,
    has_ended,
    sort_adjustments,
)
from tthc_monitor.core.periods import LOCAL_TZ, PeriodScheme, shift_period
from tthc_monitor.core.snapshot import build_snapshot
from tthc_monitor.reference.registry import Registry
from tthc_monitor.store.freeze_codec import (
    decode_adjustment,
    decode_version_info,
    encode_document,
    encode_version_info,
)
from tthc_monitor.store.keys import Keys
from tthc_monitor.store.totals import ensure_totals, is_ready, level_totals

MAX_FREEZE_ATTEMPTS = 50

Clock = Callable[[], datetime]


def local_now() -> datetime:
    return datetime.now(LOCAL_TZ)


class PeriodOpen(ValueError):
    """A period cannot be frozen before it has ended."""


class FreezeBusy(Exception):
    """The period's counters kept changing during the freeze: transient, try again."""


@dataclass(frozen=True)
class SnapshotKeys:
    """Key names of frozen snapshots (next to ``Keys``: same namespace)."""

    namespace: str = "tthc"

    def versions(self, period: str) -> str:
        """Hash: ``{months}`` -> latest version, ``auto:{months}`` -> the automatic one."""
        return f"{self.namespace}:snap:{period}"

    def index(self, period: str, months: int) -> str:
        """Hash: version number -> JSON of :class:`VersionInfo`."""
        return f"{self.namespace}:snap:{period}:{months}"

    def document(self, period: str, months: int, version: int) -> str:
        """String: the frozen document's JSON, written once."""
        return f"{self.namespace}:snap:{period}:{months}:v{version}"

    def adjustments(self, period: str) -> str:
        """Hash: first event id of a write -> JSON of the adjustment."""
        return f"{self.namespace}:adj:{period}"


@dataclass(frozen=True)
class Frozen:
    """Outcome of a freeze: the version of every requested months; ``created`` lists the
    months that got a new version (an automatic freeze already done creates none)."""

    period: str
    versions: dict[int, int]
    created: tuple[int, ...]


def adjusting_call(
    keys: Sequence[str],
    args: Sequence[Any],
    closed: Iterable[str],
    snapshot_keys: SnapshotKeys,
    counter_key: Callable[[str], str],
    record: Mapping[str, Any],
) -> tuple[list[str], list[Any]]:
    """Keys and arguments of record_adjustments.lua around one apply_dossier.lua call.

    ``args`` ends with the packed counter changes; ``closed`` names the periods the
    write changes that may be frozen; ``record`` is the adjustment without its changes.
    """
    all_keys = list(keys)
    indexes: list[int] = []
    for period in sorted(closed):
        all_keys.extend((snapshot_keys.versions(period), snapshot_keys.adjustments(period)))
        indexes.append(keys.index(counter_key(period)) + 1)  # Lua indexes from 1
    head = [len(keys), len(args), len(args)]
    body = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    return all_keys, [*head, *args, body, *indexes]


class SnapshotStore:
    """Freezes and reads the versions of one namespace."""

    def __init__(
        self,
        redis: Redis,
        registry: Registry,
        scheme: PeriodScheme,
        namespace: str = "tthc",
        clock: Clock = local_now,
    ) -> None:
        self.redis = redis
        self.registry = registry
        self.scheme = scheme
        self.keys = SnapshotKeys(namespace)
        self.counter_keys = Keys(namespace)
        self.clock = clock

    # -- freezing --------------------------------------------------------------------
    async def freeze(
        self, period: str, months: Sequence[int] = (1,), *, automatic: bool = False
    ) -> Frozen:
        """A new version of each ``months`` snapshot of the ended ``period``; with
        ``automatic``, only of those that have no automatic version yet."""
        if any(m < 1 for m in months):
            raise ValueError("months must be at least 1")
        if not has_ended(period, self.scheme, self.clock()):
            raise PeriodOpen(f"period {period} has not ended (end {self.scheme.end(period)})")
        for attempt in range(MAX_FREEZE_ATTEMPTS):
            try:
                return await self._freeze_once(period, sorted(set(months)), automatic)
            except WatchError:
                # Jitter, so that freezes racing on one period stop colliding.
                await asyncio.sleep(random.uniform(0, 0.005 * (attempt + 1)))
        raise FreezeBusy(f"period {period}: counters changed during {MAX_FREEZE_ATTEMPTS} tries")

    async def _freeze_once(self, period: str, months: list[int], automatic: bool) -> Frozen:
        versions_key = self.keys.versions(period)
        adjustments_key = self.keys.adjustments(period)
        async with self.redis.pipeline(transaction=True) as pipe:
            await pipe.watch(versions_key, adjustments_key, self.counter_keys.periods)
            # (the totals hash and the period hashes read are watched below)
            latest = _strs(await pipe.hgetall(versions_key))
            done = {
                m: int(latest[f"auto:{m}"]) for m in months if automatic and f"auto:{m}" in latest
            }
            todo = [m for m in months if m not in done]
            if not todo:
                # Leaving the block resets the connection (UNWATCH).
                return Frozen(period, done, ())
            # Only the periods the documents need: from the first covered one on (the
            # levels are the running totals less the changes after the period).
            first = shift_period(period, 1 - max(todo))
            names = sorted(
                p for p in map(_text, await pipe.smembers(self.counter_keys.periods)) if p >= first
            )
            hashes = [self.counter_keys.counters(p) for p in names]
            # Watched before being read: a write after this aborts EXEC below.
            await pipe.watch(self.counter_keys.totals, *hashes)
            async with self.redis.pipeline(transaction=False) as reader:
                reader.hgetall(self.counter_keys.totals)
                for key in hashes:
                    reader.hgetall(key)
                reader.hlen(adjustments_key)
                raw_totals, *values, adjustments = await reader.execute()
            if not is_ready(_strs(raw_totals)):
                await ensure_totals(self.redis, self.counter_keys, list(self.registry.units))
                raise WatchError("running totals computed: read again")
            totals = level_totals(raw_totals)
            counters = {p: _ints(raw) for p, raw in zip(names, values, strict=True)}
            as_of = self.clock()
            created: dict[int, int] = {}
            pipe.multi()  # type: ignore[no-untyped-call]
            for m in todo:
                version = int(latest.get(str(m), 0)) + 1
                document = frozen_snapshot(
                    period, self.scheme, self.registry, counters, as_of, m, version, totals
                )
                info = VersionInfo(
                    period,
                    m,
                    version,
                    as_of.isoformat(),
                    "auto" if automatic else "manual",
                    int(adjustments),
                )
                pipe.set(self.keys.document(period, m, version), encode_document(document))
                pipe.hset(self.keys.index(period, m), str(version), encode_version_info(info))
                pipe.hset(versions_key, str(m), version)
                if automatic:
                    pipe.hset(versions_key, f"auto:{m}", version)
                created[m] = version
            await pipe.execute()
        return Frozen(period, {**done, **created}, tuple(created))

    async def due(self, grace: timedelta) -> list[str]:
        """Periods past their end plus ``grace`` that lack an automatic version."""
        names = [_text(p) for p in await self.redis.smembers(self.counter_keys.periods)]
        candidates = due_periods(names, self.scheme, self.clock(), grace)
        async with self.redis.pipeline(transaction=False) as pipe:
            for period in candidates:
                pipe.hmget(self.keys.versions(period), *(f"auto:{m}" for m in AUTO_MONTHS))
            autos = await pipe.execute()
        return [p for p, auto in zip(candidates, autos, strict=True) if None in auto]

    async def freeze_due(self, grace: timedelta) -> list[Frozen]:
        """The worker's timer: freeze every due period once (oldest first)."""
        frozen: list[Frozen] = []
        for period in await self.due(grace):
            result = await self.freeze(period, AUTO_MONTHS, automatic=True)
            if result.created:
                frozen.append(result)
        return frozen

    # -- reading ---------------------------------------------------------------------
    async def live(self, period: str, months: int = 1) -> dict[str, Any]:
        """The live snapshot document: reads the running totals and the hashes of the
        covered periods and of those after them, not all history."""
        first = shift_period(period, 1 - months)
        names: list[str] = []
        for _ in range(MAX_FREEZE_ATTEMPTS):
            # One MULTI: the totals and the hashes at one instant; the periods set read
            # with them tells whether a period appeared since ``names`` was taken.
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.smembers(self.counter_keys.periods)
                pipe.hgetall(self.counter_keys.totals)
                for p in names:
                    pipe.hgetall(self.counter_keys.counters(p))
                raw_periods, raw_totals, *values = await pipe.execute()
            now_names = sorted(p for p in map(_text, raw_periods) if p >= first)
            if not is_ready(_strs(raw_totals)):
                await ensure_totals(self.redis, self.counter_keys, list(self.registry.units))
            elif now_names == names:
                break
            names = now_names
        else:
            raise FreezeBusy(f"period {period}: periods kept changing during the read")
        counters = {p: _ints(raw) for p, raw in zip(names, values, strict=True)}
        return build_snapshot(
            period,
            self.scheme,
            self.registry,
            counters,
            self.clock(),
            months,
            level_totals(raw_totals),
        )

    async def versions(self, period: str, months: int | None = None) -> list[VersionInfo]:
        """The index of versions of one ``months`` snapshot, or of all, in order."""
        if months is None:
            latest = _strs(await self.redis.hgetall(self.keys.versions(period)))
            all_months = sorted(int(f) for f in latest if f.isdigit())
        else:
            all_months = [months]
        async with self.redis.pipeline(transaction=False) as pipe:
            for m in all_months:
                pipe.hvals(self.keys.index(period, m))
            indexes = await pipe.execute()
        infos = [decode_version_info(period, _text(raw)) for values in indexes for raw in values]
        return sorted(infos, key=lambda i: (i.months, i.version))

    async def document(self, period: str, months: int, version: int) -> dict[str, Any] | None:
        raw = await self.redis.get(self.keys.document(period, months, version))
        if raw is None:
            return None
        document: dict[str, Any] = json.loads(raw)
        return document

    async def adjustments(self, periods: Iterable[str]) -> list[Adjustment]:
        names = list(periods)
        async with self.redis.pipeline(transaction=False) as pipe:
            for period in names:
                pipe.hvals(self.keys.adjustments(period))
            values = await pipe.execute()
        return sort_adjustments(
            decode_adjustment(period, _text(raw))
            for period, raws in zip(names, values, strict=True)
            for raw in raws
        )


def _text(value: str | bytes) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


def _strs(raw: Mapping[Any, Any]) -> dict[str, str]:
    return {_text(key): _text(value) for key, value in raw.items()}


def _ints(raw: Mapping[Any, Any]) -> dict[str, int]:
    return {_text(key): int(value) for key, value in raw.items()}
