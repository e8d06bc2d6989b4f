"""What a dossier write changes in the per-unit due index, and epoch times (pure).

The store keeps, with each dossier, the index entries it holds; this module compares
them with the running spans so that the write (one Lua call, ``apply_dossier.lua``) only
touches what changed. Alerts are not diffed here: the write sends the whole plan and the
script keeps what has not fired (one timer per dossier; its plan record's form is
:mod:`tthc_monitor.store.schedule_codec`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tthc_monitor.core.periods import LOCAL_TZ
from tthc_monitor.core.timeline import Armed

Epoch = int | float


def epoch(instant: datetime) -> Epoch:
    """Seconds since the epoch; an integer when whole (smaller JSON and Redis values)."""
    value = instant.timestamp()
    return int(value) if value.is_integer() else value


def from_epoch(value: str | float) -> datetime:
    return datetime.fromtimestamp(float(value), LOCAL_TZ)


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
