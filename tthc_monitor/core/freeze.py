"""Frozen snapshots and adjustments: the pure rules (docs/snapshot.md, "Frozen snapshots").

A frozen version is the live snapshot document of :mod:`tthc_monitor.core.snapshot` at
one instant, numbered once; the Redis adapter (:mod:`tthc_monitor.store.snapshots`)
stores it in the form of :mod:`tthc_monitor.store.freeze_codec` and never rewrites it.
An adjustment is the part of a dossier write that lands in the counters of a period
already frozen.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tthc_monitor.core.counters import GLOBAL_PERIOD, split_key
from tthc_monitor.core.periods import PeriodScheme, shift_period
from tthc_monitor.core.snapshot import PeriodCounters, build_snapshot
from tthc_monitor.reference.registry import Registry

AUTO_MONTHS: tuple[int, ...] = (1, 3)
"""What the automatic freeze covers: the period itself and the land appendix's quarter."""

CLOCK_SKEW = timedelta(hours=1)
"""How far the clocks of a worker and of whoever freezes may disagree. A write that
touches a period ending within this margin is checked for adjustments even if the
writer's clock says the period is still open, so a freeze right after the end cannot
slip past a worker whose clock is behind."""


def frozen_snapshot(
    period: str,
    scheme: PeriodScheme,
    registry: Registry,
    counters: Mapping[str, PeriodCounters],
    as_of: datetime,
    months: int,
    version: int,
    totals: PeriodCounters | None = None,
) -> dict[str, Any]:
    """The live document of ``build_snapshot`` plus its version number (after ``as_of``)."""
    live = build_snapshot(period, scheme, registry, counters, as_of, months, totals)
    document: dict[str, Any] = {}
    for key, value in live.items():
        document[key] = value
        if key == "as_of":
            document["version"] = version
    return document


def has_ended(period: str, scheme: PeriodScheme, now: datetime) -> bool:
    return scheme.end(period) <= now


def due_periods(
    periods: Iterable[str], scheme: PeriodScheme, now: datetime, grace: timedelta
) -> list[str]:
    """Periods whose end plus the grace has passed at ``now``, oldest first."""
    return sorted(p for p in periods if p != GLOBAL_PERIOD and scheme.end(p) + grace <= now)


def adjustment_horizon(scheme: PeriodScheme, now: datetime) -> str:
    """Writes to periods before this one may land in a frozen period (see CLOCK_SKEW)."""
    return scheme.period_of(now + CLOCK_SKEW)


def closed_changes(changes: Mapping[str, int], horizon: str) -> dict[str, dict[str, int]]:
    """The counter changes of a write that fall in periods before ``horizon``, by period:
    ``{period: {"unit|metric": delta}}``. Only these can be adjustments."""
    by_period: dict[str, dict[str, int]] = {}
    for key, delta in changes.items():
        period, unit_id, metric = split_key(key)
        if period != GLOBAL_PERIOD and period < horizon:
            by_period.setdefault(period, {})[f"{unit_id}|{metric}"] = delta
    return by_period


def covered_periods(period: str, months: int) -> list[str]:
    """The periods whose flows a ``months``-period snapshot ending with ``period`` sums."""
    return [shift_period(period, offset) for offset in range(1 - months, 1)]


@dataclass(frozen=True)
class VersionInfo:
    """One entry of a period's index of versions."""

    period: str
    months: int
    version: int
    as_of: str
    kind: str
    """"auto" (the worker, once per period) or "manual" (on request)."""
    adjustments: int
    """Adjustments of the period recorded before this version (they are included)."""


@dataclass(frozen=True)
class Adjustment:
    """A write applied to a frozen period after its latest version (one per write)."""

    period: str
    event_id: str
    """The first event id of the write: the idempotency key."""
    event_ids: tuple[str, ...]
    dossier_id: str
    applied_at: str
    changes: dict[str, int]
    """``"unit|metric" -> delta`` in the period's counters."""
    after: dict[int, int]
    """months -> the latest version when it was applied (versions after it include it)."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "period": self.period,
            "event_id": self.event_id,
            "event_ids": list(self.event_ids),
            "dossier_id": self.dossier_id,
            "applied_at": self.applied_at,
            "changes": dict(sorted(self.changes.items())),
            "after": {str(m): v for m, v in sorted(self.after.items())},
        }


def sort_adjustments(adjustments: Iterable[Adjustment]) -> list[Adjustment]:
    # ISO timestamps from one zone sort as text; the event id breaks ties.
    return sorted(adjustments, key=lambda a: (a.applied_at, a.event_id))
