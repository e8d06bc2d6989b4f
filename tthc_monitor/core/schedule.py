"""What a dossier write changes in the alert timers and the per-unit due index (pure).

The store keeps, with each dossier, the alerts it has scheduled (id -> fire time) and
the index entries it holds; this module compares them with the new plan so that the
write (one Lua call, ``apply_dossier.lua``) only touches what changed. The timers'
stored form is :mod:`tthc_monitor.store.schedule_codec`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tthc_monitor.core.alerts import Alert
from tthc_monitor.core.periods import LOCAL_TZ
from tthc_monitor.core.timeline import Armed

Epoch = int | float


def epoch(instant: datetime) -> Epoch:
    """Seconds since the epoch; an integer when whole (smaller JSON and Redis values)."""
    value = instant.timestamp()
    return int(value) if value.is_integer() else value


def from_epoch(value: str | float) -> datetime:
    return datetime.fromtimestamp(float(value), LOCAL_TZ)


@dataclass(frozen=True)
class AlertChanges:
    schedule: tuple[Alert, ...]
    """New alerts, or alerts whose fire time moved: ZADD unless already fired."""
    cancel: tuple[str, ...]
    """Ids scheduled before that the plan no longer holds: ZREM (a no-op once fired)."""
    state: dict[str, Epoch]
    """What the dossier holds scheduled after the write: alert id -> fire time."""


def diff_alerts(
    plan: Iterable[Alert],
    scheduled: Mapping[str, Epoch],
    now: datetime,
    horizon: timedelta,
) -> AlertChanges:
    """Reconcile a dossier's plan with what it has scheduled.

    An alert whose fire time is more than ``horizon`` before ``now`` is not scheduled
    when first planned (a replay of old history must not flood units with alerts; it
    also bounds how long fired markers are kept). One already scheduled stays, so a
    worker that was down longer than the horizon still fires what was due.
    """
    oldest = now - horizon
    state: dict[str, Epoch] = {}
    schedule: list[Alert] = []
    for alert in plan:
        at = epoch(alert.fire_at)
        if alert.alert_id not in scheduled and alert.fire_at < oldest:
            continue
        state[alert.alert_id] = at
        if scheduled.get(alert.alert_id) != at:
            schedule.append(alert)
    cancel = tuple(sorted(set(scheduled) - set(state)))
    return AlertChanges(tuple(schedule), cancel, state)


IndexEntry = tuple[str, str]
"""(unit_id, member) of the per-unit due index; member ``{dossier_id}|{stage}``."""


@dataclass(frozen=True)
class IndexChanges:
    put: tuple[tuple[str, str, Epoch], ...]
    """(unit_id, member, due) to ZADD."""
    remove: tuple[IndexEntry, ...]
    state: list[list[Any]]
    """What the dossier holds in the index after the write: [[unit, member, due], ...]."""


def index_member(dossier_id: str, stage: str) -> str:
    return f"{dossier_id}|{stage}"


def diff_index(
    dossier_id: str, running: Sequence[Armed], indexed: Sequence[Sequence[Any]]
) -> IndexChanges:
    """The spans still running, against the index entries the dossier held before."""
    new: dict[IndexEntry, Epoch] = {
        (span.unit_id, index_member(dossier_id, span.stage)): epoch(span.due) for span in running
    }
    old: dict[IndexEntry, Epoch] = {(str(u), str(m)): d for u, m, d in indexed}
    put = tuple((u, m, d) for (u, m), d in sorted(new.items()) if old.get((u, m)) != d)
    remove = tuple(sorted(set(old) - set(new)))
    state = [[u, m, d] for (u, m), d in sorted(new.items())]
    return IndexChanges(put, remove, state)
