"""The most overdue spans running, from the per-unit due indexes, in a bounded read.

``{ns}:open:{unit}`` scores each running span (``{dossier_id}|{stage}``) by its due
time (docs/redis-layout.md; docs/alerts.md, "Keys"), so the most overdue spans of a unit
are the lowest scores below now. One pipelined ``ZRANGEBYSCORE … LIMIT 0 n`` per unit
reads at most ``n`` members of each index, whatever the number of open dossiers; the
``n`` most overdue of the province are among them. Ids only: dossier codes, no names.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from redis import Redis

from tthc_monitor.core.periods import LOCAL_TZ
from tthc_monitor.store.keys import Keys


@dataclass(frozen=True)
class OverdueSpan:
    unit_id: str
    """The unit holding the span (the owner, or the unit of an inter-agency stage)."""
    dossier_id: str
    stage: str
    """``owner`` or ``interagency`` (the index member's suffix)."""
    due_at: datetime


def most_overdue(
    redis: Redis, keys: Keys, units: Iterable[str], now: datetime, limit: int
) -> list[OverdueSpan]:
    """The ``limit`` spans whose due passed longest before ``now``, most overdue first."""
    unit_ids = list(units)
    pipe = redis.pipeline(transaction=False)
    # "(now": strictly before now, as the exporter's overdue range [-inf, now).
    for unit_id in unit_ids:
        pipe.zrangebyscore(
            keys.open_index(unit_id),
            "-inf",
            f"({now.timestamp()!r}",
            start=0,
            num=limit,
            withscores=True,
        )
    replies: list[list[Any]] = pipe.execute()
    ranked: list[tuple[float, int, OverdueSpan]] = []
    for unit_id, members in zip(unit_ids, replies, strict=True):
        same_due: dict[float, int] = {}
        for member, score in members:
            text = member.decode() if isinstance(member, bytes) else str(member)
            dossier_id, _, stage = text.rpartition("|")
            due = float(score)
            rank = same_due[due] = same_due.get(due, -1) + 1
            span = OverdueSpan(unit_id, dossier_id, stage, datetime.fromtimestamp(due, LOCAL_TZ))
            ranked.append((due, rank, span))
    # Spans equally overdue (a batch of dossiers due at one 17:00) take turns by unit, so
    # the list names every unit that has one rather than ten of the first unit's; a span
    # of rank r in its unit needs r earlier ones there, so reading `limit` per unit
    # suffices. Then a fixed order, so the list does not flicker between polls.
    ranked.sort(key=lambda r: (r[0], r[1], r[2].unit_id, r[2].dossier_id, r[2].stage))
    return [span for _, _, span in ranked[:limit]]
