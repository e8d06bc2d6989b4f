"""One dossier's history folded into its timeline: owner, stages, dues, pauses, close.

The fold is a pure function of the *set* of events: events are put in sequence
order (``occurred_at``, then a fixed type order, then ``event_id``) before they are
walked, so any arrival order and any duplication give the same timeline. That is
what makes the stream processor correct under at-least-once delivery.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from schemas.events import (
    DossierEvent,
    Extended,
    Received,
    Transferred,
)
from tthc_monitor.core.calendar import WorkingCalendar

Timeliness = Literal["early", "on_time", "late"]

# Same-instant order of the spec ("Sequence"): a dossier cannot be resolved before
# it is transferred at the same minute, and so on.
TYPE_ORDER: tuple[str, ...] = (
    "received",
    "supplement_requested",
    "supplemented",
    "extended",
    "transferred",
    "digitized",
    "paid",
    "apologized",
    "resolved",
    "withdrawn",
)
_TYPE_RANK = {name: rank for rank, name in enumerate(TYPE_ORDER)}

# These count whenever they happened, even outside the open interval.
UNSEQUENCED_TYPES = frozenset({"digitized", "paid", "apologized"})


def sequence_key(event: DossierEvent) -> tuple[datetime, int, str]:
    return (event.occurred_at, _TYPE_RANK[event.type], event.event_id)


def timeliness(end: datetime, due: datetime, calendar: WorkingCalendar) -> Timeliness:
    """Early when finished on an earlier local date than the due, late when after it."""
    if calendar.local_date(end) < calendar.local_date(due):
        return "early"
    return "on_time" if end <= due else "late"


@dataclass(frozen=True)
class Stage:
    """One holder's interval of the dossier."""

    unit_id: str
    interagency: bool
    start: datetime
    end: datetime | None
    finished: bool
    due: datetime
    """The stage's due at its end (or now, while open), clock stops applied."""
    timeliness: Timeliness | None
    start_unit_id: str | None = None
    """The holder when the stage started, when a succession moved it since (else None:
    ``unit_id`` held it throughout)."""

    @property
    def received_by(self) -> str:
        return self.start_unit_id or self.unit_id


@dataclass(frozen=True)
class Handover:
    """Open work passed on by a succession (registry versions): at ``at`` the unit
    ``from_unit`` went out of force and ``to_unit`` took over the dossier it owned
    (``kind`` owner) or the inter-agency stage it held (``kind`` interagency, ``stage``
    its index in ``Timeline.stages``). Due dates and clock stops are unchanged."""

    at: datetime
    from_unit: str
    to_unit: str
    kind: Literal["owner", "interagency"]
    stage: int = 0


@dataclass(frozen=True)
class SuccessionInstant:
    """A registry succession as the fold sees it: the instant and the two units."""

    at: datetime
    unit_id: str
    successor_id: str


@dataclass(frozen=True)
class Armed:
    """A span during which a timeline runs against one due: open and not paused.

    ``stage`` is ``"owner"`` for the dossier's own timeline (sent to the owner) or
    ``"interagency"`` for an inter-agency stage (sent to ``unit_id``, the holder);
    ``index`` tells stages apart. Alerts are planned from these spans.
    """

    stage: Literal["owner", "interagency"]
    index: int
    unit_id: str
    start: datetime
    end: datetime | None
    due: datetime


@dataclass(frozen=True)
class Refusal:
    event_id: str
    type: str
    reason: str


@dataclass(frozen=True)
class Timeline:
    """Everything the counters need to know about one dossier."""

    dossier_id: str
    received: Received | None
    stages: tuple[Stage, ...] = ()
    counted: tuple[DossierEvent, ...] = ()
    refused: tuple[Refusal, ...] = ()
    closed_at: datetime | None = None
    close_type: Literal["resolved", "withdrawn"] | None = None
    due: datetime | None = None
    """The dossier due at its close (or the current one while open)."""
    resolution: Timeliness | None = None
    overdue_changes: tuple[tuple[datetime, int], ...] = ()
    """Changes of the 'open, not paused and past due' indicator: (x, delta) means the
    delta applies at every instant after x."""
    paused_since: datetime | None = None
    armed: tuple[Armed, ...] = ()
    held: tuple[DossierEvent, ...] = field(default=())
    """Events kept while the dossier's ``received`` has not arrived (orphans)."""
    handovers: tuple[Handover, ...] = ()
    """Successions that moved the dossier or one of its stages, in time order."""

    @property
    def owner(self) -> str | None:
        """The owner now (at close, for a closed dossier): the receiving unit, or its
        successor after a succession."""
        if self.received is None:
            return None
        owner = self.received.unit_id
        for handover in self.handovers:
            if handover.kind == "owner":
                owner = handover.to_unit
        return owner

    def owner_at(self, instant: datetime) -> str | None:
        """The owner over the instants after ``instant`` (a succession at T moves the
        dossier for every instant from T on)."""
        if self.received is None:
            return None
        owner = self.received.unit_id
        for handover in self.handovers:
            if handover.kind == "owner" and handover.at <= instant:
                owner = handover.to_unit
        return owner

    @property
    def is_orphan(self) -> bool:
        return self.received is None


@dataclass
class _Due:
    value: datetime
    anchor: date
    """Local date the due was set; a clock stop never moves a due for days before it."""


@dataclass
class _OpenStage:
    unit_id: str
    interagency: bool
    start: datetime
    own_due: _Due | None
    start_unit_id: str | None = None


class _Walker:
    """Walks a dossier's counted events in sequence order, keeping the live state."""

    def __init__(self, received: Received, calendar: WorkingCalendar, processing_days: int):
        self.calendar = calendar
        self.received = received
        due_value = received.due_at or calendar.computed_due(received.occurred_at, processing_days)
        start_date = calendar.local_date(received.occurred_at)
        self.due = _Due(due_value, start_date)
        own = _Due(received.stage_due_at, start_date) if received.stage_due_at else None
        self.stage = _OpenStage(received.unit_id, False, received.occurred_at, own)
        self.owner = received.unit_id
        self.handovers: list[Handover] = []
        self.paused_since: datetime | None = None
        self.stages: list[Stage] = []
        self.closed_at: datetime | None = None
        self.close_type: Literal["resolved", "withdrawn"] | None = None
        self.resolution: Timeliness | None = None
        self.closing_due: datetime | None = None
        self.overdue_level = 0
        self.overdue_changes: list[tuple[datetime, int]] = []
        self.stage_index = 0
        self.armed: list[Armed] = []
        self._arming: dict[tuple[str, int, str], tuple[datetime, datetime]] = {}

    # -- dues under clock stops ------------------------------------------------------
    def _effective(self, due: _Due, at: datetime) -> datetime:
        """The due as it would stand if the clock restarted at ``at``."""
        if self.paused_since is None:
            return due.value
        request_date = self.calendar.local_date(self.paused_since)
        days = self.calendar.working_days_in(
            max(request_date, due.anchor), self.calendar.local_date(at)
        )
        return self.calendar.shift(due.value, days) if days else due.value

    def _resume(self, at: datetime) -> None:
        at_date = self.calendar.local_date(at)
        self.due = _Due(self._effective(self.due, at), at_date)
        if self.stage.own_due is not None:
            self.stage.own_due = _Due(self._effective(self.stage.own_due, at), at_date)
        self.paused_since = None

    def _stage_due(self, at: datetime) -> datetime:
        own = self.stage.own_due
        return self._effective(own if own is not None else self.due, at)

    def _end_stage(self, at: datetime, finished: bool) -> None:
        due = self._stage_due(at)
        self.stages.append(
            Stage(
                unit_id=self.stage.unit_id,
                interagency=self.stage.interagency,
                start=self.stage.start,
                end=at,
                finished=finished,
                due=due,
                timeliness=timeliness(at, due, self.calendar) if finished else None,
                start_unit_id=self.stage.start_unit_id,
            )
        )

    def succeed(self, at: datetime, unit_id: str, successor_id: str) -> None:
        """A registry succession at ``at``: the owned dossier and the held stage of
        ``unit_id`` pass to ``successor_id``; no stage starts or ends."""
        if self.closed_at is not None:
            return
        if self.owner == unit_id:
            self.owner = successor_id
            self.handovers.append(Handover(at, unit_id, successor_id, "owner"))
        if self.stage.unit_id == unit_id:
            if self.stage.start_unit_id is None:
                self.stage.start_unit_id = unit_id
            self.stage.unit_id = successor_id
            if self.stage.interagency:
                self.handovers.append(
                    Handover(at, unit_id, successor_id, "interagency", len(self.stages))
                )

    # -- events ----------------------------------------------------------------------
    def apply(self, event: DossierEvent) -> str | None:
        """Apply one sequenced event; returns a refusal reason, or None if it counts."""
        at = event.occurred_at
        if event.type in UNSEQUENCED_TYPES:
            return None
        if self.closed_at is not None:
            return f"after the dossier was {self.close_type} at {self.closed_at.isoformat()}"
        if event.type == "received":
            return "second 'received' for the dossier"
        if event.type == "supplement_requested":
            if self.paused_since is None:
                self.paused_since = at
        elif event.type == "supplemented":
            if self.paused_since is not None:
                self._resume(at)
        elif isinstance(event, Extended):
            self.due = _Due(event.new_due_at, self.calendar.local_date(at))
        elif isinstance(event, Transferred):
            if event.to_unit_id == self.stage.unit_id:
                return f"transfer to {event.to_unit_id}, which already holds the dossier"
            self._end_stage(at, finished=True)
            own = (
                _Due(event.stage_due_at, self.calendar.local_date(at))
                if event.stage_due_at
                else None
            )
            self.stage = _OpenStage(event.to_unit_id, event.to_unit_id != self.owner, at, own)
            self.stage_index += 1
        elif event.type in ("resolved", "withdrawn"):
            finished = event.type == "resolved"
            self._end_stage(at, finished=finished)
            self.closing_due = self._effective(self.due, at)
            if finished:
                self.resolution = timeliness(at, self.closing_due, self.calendar)
            self.closed_at = at
            self.close_type = "resolved" if finished else "withdrawn"
            self.paused_since = None
        return None

    def arm(self, at: datetime) -> None:
        """Close the spans whose due changed or that stopped running; open new ones."""
        wanted: dict[tuple[str, int, str], datetime] = {}
        if self.closed_at is None and self.paused_since is None:
            wanted[("owner", 0, self.owner)] = self.due.value
            if self.stage.interagency:
                own = self.stage.own_due
                key = ("interagency", self.stage_index, self.stage.unit_id)
                wanted[key] = (own if own is not None else self.due).value
        for key, (start, due) in list(self._arming.items()):
            if wanted.get(key) != due:
                self.armed.append(Armed(key[0], key[1], key[2], start, at, due))  # type: ignore[arg-type]
                del self._arming[key]
        for key, due in wanted.items():
            if key not in self._arming:
                self._arming[key] = (at, due)

    def finish_arming(self) -> tuple[Armed, ...]:
        spans = list(self.armed)
        for key, (start, due) in self._arming.items():
            spans.append(Armed(key[0], key[1], key[2], start, None, due))  # type: ignore[arg-type]
        return tuple(sorted(spans, key=lambda a: (a.stage != "owner", a.index, a.start)))

    def mark_interval(self, start: datetime, next_start: datetime | None) -> None:
        """Record the overdue indicator over (start, next_start] given the state now."""
        running = self.closed_at is None and self.paused_since is None
        due = self.due.value
        self._set_overdue(start, 1 if running and due <= start else 0)
        if running and due > start and (next_start is None or due < next_start):
            self._set_overdue(due, 1)

    def _set_overdue(self, at: datetime, level: int) -> None:
        if level != self.overdue_level:
            self.overdue_changes.append((at, level - self.overdue_level))
            self.overdue_level = level

    def open_stage_snapshot(self) -> Stage:
        own = self.stage.own_due
        return Stage(
            unit_id=self.stage.unit_id,
            interagency=self.stage.interagency,
            start=self.stage.start,
            end=None,
            finished=False,
            due=(own if own is not None else self.due).value,
            timeliness=None,
            start_unit_id=self.stage.start_unit_id,
        )


def build_timeline(
    dossier_id: str,
    events: Iterable[DossierEvent],
    calendar: WorkingCalendar,
    procedure_days: Callable[[str], int],
    successions: Sequence[SuccessionInstant] = (),
) -> Timeline:
    """Fold a dossier's events (any order, duplicates allowed) into its timeline.

    ``procedure_days`` gives the catalog's processing days of a procedure id;
    ``successions`` (time order) the registry's successions that have happened: each
    one after the dossier's reception moves its open work at that instant.
    """
    unique = {event.event_id: event for event in events}
    ordered = sorted(unique.values(), key=sequence_key)
    position = next((i for i, e in enumerate(ordered) if isinstance(e, Received)), None)
    if position is None:
        return Timeline(dossier_id=dossier_id, received=None, held=tuple(ordered))
    received = ordered[position]
    assert isinstance(received, Received)

    walker = _Walker(received, calendar, procedure_days(received.procedure_id))
    counted: list[DossierEvent] = []
    refused: list[Refusal] = []
    for event in ordered[:position]:
        if event.type in UNSEQUENCED_TYPES:
            counted.append(event)
        else:
            refused.append(
                Refusal(event.event_id, event.type, "dated before the dossier's 'received'")
            )
    counted.append(received)

    # The state that holds over (t, t_next] is the state after every event at or
    # before t; the overdue indicator is traced interval by interval.
    later = ordered[position + 1 :]
    instant = received.occurred_at
    # Events at a unit out of force are refused before they get here, so at a
    # succession's instant the succession goes first, then the successor's events.
    pending = deque(s for s in successions if s.at > instant)
    index = 0
    while True:
        while pending and pending[0].at == instant:
            succession = pending.popleft()
            walker.succeed(instant, succession.unit_id, succession.successor_id)
        while index < len(later) and later[index].occurred_at == instant:
            event = later[index]
            reason = walker.apply(event)
            if reason is None:
                counted.append(event)
            else:
                refused.append(Refusal(event.event_id, event.type, reason))
            index += 1
        if walker.closed_at is not None:
            pending.clear()
        next_instant = later[index].occurred_at if index < len(later) else None
        if pending and (next_instant is None or pending[0].at < next_instant):
            next_instant = pending[0].at
        walker.mark_interval(instant, next_instant)
        walker.arm(instant)
        if next_instant is None:
            break
        instant = next_instant

    stages = list(walker.stages)
    if walker.closed_at is None:
        stages.append(walker.open_stage_snapshot())
    due = walker.closing_due if walker.closed_at is not None else walker.due.value
    return Timeline(
        dossier_id=dossier_id,
        received=received,
        stages=tuple(stages),
        counted=tuple(counted),
        refused=tuple(refused),
        closed_at=walker.closed_at,
        close_type=walker.close_type,
        due=due,
        resolution=walker.resolution,
        overdue_changes=tuple(walker.overdue_changes),
        paused_since=walker.paused_since,
        armed=walker.finish_arming(),
        handovers=tuple(walker.handovers),
    )
