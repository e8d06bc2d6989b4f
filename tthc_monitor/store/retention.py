"""Years of operation: compaction of closed dossiers and pruning by age.

The worker runs :meth:`Retention.run` on a timer (the leader only, like the automatic
freeze); ``tthc-monitor compact [--dry-run]`` runs it once. docs/redis-layout.md,
"Retention", says what is kept, for how long, and what a late or duplicate event meets.

* **Compaction.** A dossier that closed (resolved or withdrawn) with nothing running
  is listed by its write in ``{ns}:closed:{period}``, ``period``
  the latest period its counters touch. Once that period and every earlier one are
  frozen and the period ended more than ``compact_grace`` ago, and none of its alerts is
  still waiting in ``{ns}:timers`` (all fired: they fall before its close), its state
  is replaced by
  a tombstone holding only its event ids (``compact_dossier.lua``, guarded by the
  dossier's version: a concurrent write wins), with a TTL, and its ids leave ``{ns}:eid``.
* **Pruning.** Day buckets ``{ns}:p:d{date}`` older than ``day_bucket_days``;
  adjustments ``{ns}:adj:{period}`` of periods that ended more than
  ``adjustment_months`` ago; entries of ``{ns}:eid:conflicts`` whose holder (or refused
  dossier) is compacted or gone. (Fired alert markers are pruned by the sweeper.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from redis.asyncio import Redis
from redis.client import NEVER_DECODE

from tthc_monitor.core.periods import PeriodScheme, shift_period
from tthc_monitor.store.keys import Keys
from tthc_monitor.store.redis_store import CLOSED_MARK, SCHEDULED, load_script
from tthc_monitor.store.snapshots import Clock, SnapshotKeys, local_now
from tthc_monitor.store.state import FORMAT_TOMBSTONE, DossierState, decode_state, encode_tombstone

CHUNK = 500
"""Dossiers read and compacted per round trip (one Lua call each, pipelined)."""


@dataclass(frozen=True)
class RetentionPolicy:
    compact_grace: timedelta = timedelta(days=35)
    """After the end of a closed dossier's latest period (frozen) before compaction."""
    tombstone_ttl: timedelta = timedelta(days=180)
    day_bucket_days: int = 7
    """Day buckets of the last N days, today included, are kept (the wall reads today's)."""
    adjustment_months: int = 13
    """Adjustment lists of periods that ended more than N months ago are deleted."""


def retention_policy(settings: Any) -> RetentionPolicy:
    """The policy of ``TTHC_COMPACT_GRACE_DAYS``, ``TTHC_TOMBSTONE_DAYS``,
    ``TTHC_DAY_BUCKET_DAYS`` and ``TTHC_ADJUSTMENT_MONTHS`` (tthc_monitor/config.py)."""
    return RetentionPolicy(
        compact_grace=timedelta(days=settings.compact_grace_days),
        tombstone_ttl=timedelta(days=settings.tombstone_days),
        day_bucket_days=settings.day_bucket_days,
        adjustment_months=settings.adjustment_months,
    )


@dataclass
class RetentionResult:
    compacted: int = 0
    """Dossiers compacted (a dry run: that would be)."""
    compacted_ids: list[str] = field(default_factory=list)
    """Their ids (not in a dry run)."""
    raced: int = 0
    """Candidates a concurrent write changed meanwhile (looked at again next time)."""
    waiting: int = 0
    """Candidates with an alert still scheduled (the sweeper has not fired it yet)."""
    stale: int = 0
    """Index members no longer compactable (gone, already compacted): removed."""
    periods: list[str] = field(default_factory=list)
    """Periods whose closed dossiers were walked."""
    day_buckets: int = 0
    adjustments: int = 0
    eid_conflicts: int = 0


class Retention:
    def __init__(
        self,
        redis: Redis,
        scheme: PeriodScheme,
        namespace: str = "tthc",
        policy: RetentionPolicy | None = None,
        clock: Clock = local_now,
        chunk: int = CHUNK,
    ) -> None:
        self.redis = redis
        self.scheme = scheme
        self.keys = Keys(namespace)
        self.snapshot_keys = SnapshotKeys(namespace)
        self.policy = policy or RetentionPolicy()
        self.clock = clock
        self.chunk = chunk
        self._compact = redis.register_script(load_script("compact_dossier.lua"))

    async def run(self, dry_run: bool = False) -> RetentionResult:
        result = RetentionResult()
        await self.compact(result, dry_run)
        await self.prune(result, dry_run)
        return result

    # -- compaction ------------------------------------------------------------------
    async def compactable_periods(self) -> list[str]:
        """Periods ended more than the grace ago, frozen, with every earlier one frozen."""
        periods = sorted(_text(p) for p in await self.redis.smembers(self.keys.periods))
        async with self.redis.pipeline(transaction=False) as pipe:
            for period in periods:
                pipe.hget(self.snapshot_keys.versions(period), "auto:1")
            frozen = await pipe.execute()
        limit = self.clock() - self.policy.compact_grace
        found: list[str] = []
        for period, version in zip(periods, frozen, strict=True):
            if version is None or self.scheme.end(period) > limit:
                break
            found.append(period)
        return found

    async def compact(self, result: RetentionResult, dry_run: bool = False) -> None:
        for period in await self.compactable_periods():
            result.periods.append(period)
            await self._compact_period(period, result, dry_run)

    async def _compact_period(self, period: str, result: RetentionResult, dry_run: bool) -> None:
        index = self.keys.closed(period)
        mark = CLOSED_MARK + period
        ttl = str(int(self.policy.tombstone_ttl.total_seconds()))
        now = self.clock().timestamp()
        offset = 0
        while True:
            found: list[Any] = await self.redis.zrange(index, offset, offset + self.chunk - 1)
            members = [_text(m) for m in found]
            if not members:
                return
            raws = await self.redis.execute_command(  # type: ignore[no-untyped-call]
                "MGET", *[self.keys.dossier(d) for d in members], **{NEVER_DECODE: True}
            )
            stale: list[str] = []
            todo: list[tuple[str, DossierState]] = []
            for dossier_id, raw in zip(members, raws, strict=True):
                state = decode_state(raw)
                if state.version == 0 or state.compacted:
                    stale.append(dossier_id)
                elif _closed_in(state, mark) and all(at <= now for at in state.alerts.values()):
                    todo.append((dossier_id, state))
                else:
                    offset += 1  # listed, but not (or no longer) compactable here: left
            if dry_run:
                offset += len(stale) + len(todo)
                result.stale += len(stale)
                result.compacted += len(todo)
                continue
            async with self.redis.pipeline(transaction=False) as pipe:
                if stale:
                    pipe.zrem(index, *stale)
                for dossier_id, state in todo:
                    ids = [str(e["event_id"]) for e in state.events]
                    await self._compact(
                        keys=[
                            self.keys.dossier(dossier_id),
                            self.keys.event_ids,
                            index,
                            self.keys.stats,
                            self.keys.timers,
                        ],
                        args=[
                            state.version,
                            encode_tombstone(dossier_id, ids),
                            ttl,
                            dossier_id,
                            len(ids),
                            *ids,
                            # Its timer (one per dossier), or those of the layout
                            # before issue 15 (one per alert id the state lists).
                            *(a for a in state.alerts if a != SCHEDULED),
                            dossier_id,
                        ],
                        client=pipe,
                    )
                replies = await pipe.execute()
            result.stale += len(stale)
            for (dossier_id, _), reply in zip(todo, replies[1:] if stale else replies, strict=True):
                if int(reply) == -1:
                    result.raced += 1
                    offset += 1  # still listed (or moved): next run
                elif int(reply) == -3:
                    result.waiting += 1
                    offset += 1  # an alert not fired yet: next run
                else:
                    result.compacted += 1
                    result.compacted_ids.append(dossier_id)

    # -- pruning by age --------------------------------------------------------------
    async def prune(self, result: RetentionResult, dry_run: bool = False) -> None:
        now = self.clock()
        periods = sorted(_text(p) for p in await self.redis.smembers(self.keys.periods))
        if not periods:
            return
        # Day buckets: every day from the first period's start (late events may write an
        # old day again, so the whole range is swept, a few thousand UNLINKs at most).
        first = self.scheme.start(periods[0]).date() - timedelta(days=1)
        today = now.astimezone(self.scheme.tz).date()
        cutoff = today - timedelta(days=self.policy.day_bucket_days - 1)  # N days kept
        days = [first + timedelta(days=n) for n in range((cutoff - first).days)]
        result.day_buckets += await self._unlink([self._day_key(d) for d in days], dry_run)
        # Adjustments of periods that ended more than N months ago.
        oldest_kept = shift_period(self.scheme.period_of(now), -self.policy.adjustment_months)
        old = [p for p in periods if p < oldest_kept]
        result.adjustments += await self._unlink(
            [self.snapshot_keys.adjustments(p) for p in old], dry_run
        )
        result.eid_conflicts += await self._prune_conflicts(dry_run)

    def _day_key(self, day: date) -> str:
        return self.keys.counters(f"d{day.isoformat()}")

    async def _unlink(self, keys: Sequence[str], dry_run: bool) -> int:
        removed = 0
        for start in range(0, len(keys), 1000):
            chunk = keys[start : start + 1000]
            if not chunk:
                continue
            if dry_run:
                removed += int(await self.redis.exists(*chunk))
            else:
                removed += int(await self.redis.unlink(*chunk))
        return removed

    async def _prune_conflicts(self, dry_run: bool) -> int:
        """Entries ``{event_id}|{dossier}`` -> holder whose holder is compacted or gone, or
        whose dossier is compacted: the entry guards nothing any more."""
        entries: dict[str, str] = {}
        async for name, holder in self.redis.hscan_iter(self.keys.event_id_conflicts):
            entries[_text(name)] = _text(holder)
        if not entries:
            return 0
        dossiers = sorted({d for f, h in entries.items() for d in (f.rpartition("|")[2], h)})
        compacted: set[str] = set()
        absent: set[str] = set()
        for start in range(0, len(dossiers), self.chunk):
            chunk = dossiers[start : start + self.chunk]
            async with self.redis.pipeline(transaction=False) as pipe:
                for dossier_id in chunk:
                    key = self.keys.dossier(dossier_id)
                    pipe.execute_command("GETRANGE", key, 0, 24, **{NEVER_DECODE: True})
                heads = await pipe.execute()
            for dossier_id, head in zip(chunk, heads, strict=True):
                if _is_tombstone(head):
                    compacted.add(dossier_id)
                elif not head:
                    absent.add(dossier_id)
        # The holder compacted or gone (its tombstone expired): its ids left {ns}:eid. The
        # refused dossier compacted: its tombstone answers a redelivery. (A refused
        # dossier with no state is common: its only event was the refused one.)
        doomed = [
            name
            for name, holder in entries.items()
            if holder in compacted or holder in absent or name.rpartition("|")[2] in compacted
        ]
        if doomed and not dry_run:
            await self.redis.hdel(self.keys.event_id_conflicts, *doomed)
        return len(doomed)


def _closed_in(state: DossierState, mark: str) -> bool:
    """The dossier's only index entry is its closed entry under this period."""
    return len(state.index) == 1 and state.index[0][0] == mark


def _is_tombstone(head: Any) -> bool:
    raw = head if isinstance(head, bytes) else str(head or "").encode()
    _, sep, rest = raw.partition(b":")
    return bool(sep) and rest[:1] == FORMAT_TOMBSTONE


def _text(value: str | bytes) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value
