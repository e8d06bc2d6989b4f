"""Deadline alerts planned from a dossier's timeline (docs/rules.md, "Alerts").

Pure: given every known event of a dossier, :func:`plan_alerts` says which alerts are
due and when. The timer service schedules the future ones and fires each at most once;
``tthc-monitor alerts plan`` runs the same function over a file.

Levels, for a due D (local time): ``due_soon`` at 07:30 of the last working day before
D's date (the lead is configuration), ``due_today`` at 07:30 of D's date, ``overdue`` at
D. A span armed after some moments passed fires only the most severe passed level, at
once; afterwards each level fires at its moment while the span still runs. A level
fired for a due silences it and every milder level for that due; a new due starts
afresh. ``apology_missing`` (the project's timing, see docs/alerts.md): at 07:30 of the
first working day after an ``overdue`` alert's date, to the unit that was late, unless
that unit issued an ``apologized`` event for the dossier by then.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Literal

from tthc_monitor.core.calendar import WorkingCalendar
from tthc_monitor.core.timeline import Armed, Timeline

Level = Literal["due_soon", "due_today", "overdue", "apology_missing"]
SEVERITY: dict[str, int] = {"due_soon": 0, "due_today": 1, "overdue": 2}
MORNING = time(7, 30)


@dataclass(frozen=True)
class Alert:
    alert_id: str
    level: Level
    dossier_id: str
    unit_id: str
    stage: Literal["owner", "interagency"]
    fire_at: datetime
    due_at: datetime

    def as_dict(self) -> dict[str, str]:
        return {
            "alert_id": self.alert_id,
            "level": self.level,
            "dossier_id": self.dossier_id,
            "unit_id": self.unit_id,
            "stage": self.stage,
            "fire_at": self.fire_at.isoformat(),
            "due_at": self.due_at.isoformat(),
        }


@dataclass(frozen=True)
class AlertRules:
    calendar: WorkingCalendar
    lead_days: int = 1
    """due_soon fires this many working days before the due's date, at 07:30."""
    morning: time = MORNING
    lead_overrides: Mapping[str, int] = field(default_factory=dict)
    """Per-procedure lead in working days (procedure_id -> days), over ``lead_days``."""

    def at_morning(self, day: date) -> datetime:
        return datetime.combine(day, self.morning, tzinfo=self.calendar.tz)

    def moments(self, due: datetime, procedure_id: str = "") -> dict[str, datetime]:
        day = self.calendar.local_date(due)
        before = day
        for _ in range(self.lead_overrides.get(procedure_id, self.lead_days)):
            before = self._previous_working_day(before)
        return {
            "due_soon": self.at_morning(before),
            "due_today": self.at_morning(day),
            "overdue": due,
        }

    def _previous_working_day(self, day: date) -> date:
        day = date.fromordinal(day.toordinal() - 1)
        while not self.calendar.is_working_day(day):
            day = date.fromordinal(day.toordinal() - 1)
        return day

    def next_working_morning(self, instant: datetime) -> datetime:
        day = self.calendar.local_date(instant)
        return self.at_morning(self.calendar.add_working_days(day, 1))


def alert_id(dossier_id: str, stage: str, index: int, level: str, due: datetime) -> str:
    """Stable across restarts and redeliveries: consumers dedupe on it."""
    key = f"{dossier_id}|{stage}|{index}|{level}|{due.isoformat()}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]


def plan_alerts(
    timeline: Timeline, rules: AlertRules, not_before: datetime | None = None
) -> list[Alert]:
    """Every alert the dossier's known history warrants, sorted by fire time.

    With ``not_before``, a stage whose alerts all fire before it may be left out: a
    backfill of old history plans nothing it would then throw away. The alerts that are
    returned are exactly those of the full plan for the stages kept.
    """
    if timeline.received is None:
        return []
    spans: dict[tuple[str, int], list[Armed]] = {}
    for span in timeline.armed:
        spans.setdefault((span.stage, span.index), []).append(span)
    alerts: list[Alert] = []
    for (stage, index), runs in spans.items():
        if not_before is not None and _all_fire_before(runs, rules, not_before):
            continue
        alerts.extend(_plan_timeline(timeline, rules, stage, index, runs))
    return sorted(alerts, key=lambda a: (a.fire_at, SEVERITY.get(a.level, 3), a.alert_id))


def _all_fire_before(runs: list[Armed], rules: AlertRules, instant: datetime) -> bool:
    """Whether every alert of these runs fires before ``instant``.

    A level fires at its run's start (a passed level) or at a moment no later than the
    07:30 of its due's date or the due itself, and ``apology_missing`` at the next
    working morning after an ``overdue``: so nothing fires after the next working
    morning after the latest start or due, whether the run has ended or not.
    """
    latest = max(max(run.start, run.due) for run in runs)
    return rules.next_working_morning(latest) < instant


def _plan_timeline(
    timeline: Timeline, rules: AlertRules, stage: str, index: int, runs: list[Armed]
) -> list[Alert]:
    procedure = timeline.received.procedure_id if timeline.received else ""
    fired: dict[datetime, int] = {}  # due -> most severe level fired for it
    out: list[Alert] = []

    def fire(span: Armed, level: Level, when: datetime) -> None:
        out.append(
            Alert(
                alert_id(timeline.dossier_id, stage, index, level, span.due),
                level,
                timeline.dossier_id,
                span.unit_id,
                span.stage,
                when,
                span.due,
            )
        )

    for span in sorted(runs, key=lambda s: s.start):
        moments = rules.moments(span.due, procedure)
        done = fired.get(span.due, -1)
        passed = [lvl for lvl, m in moments.items() if m <= span.start and SEVERITY[lvl] > done]
        if passed:
            worst = max(passed, key=SEVERITY.__getitem__)
            fire(span, worst, span.start)  # type: ignore[arg-type]
            done = SEVERITY[worst]
        # In time order: a due set before 07:30 of its own day gives overdue first,
        # which silences the milder due_today after it.
        for level, moment in sorted(moments.items(), key=lambda kv: (kv[1], SEVERITY[kv[0]])):
            if SEVERITY[level] <= done or moment <= span.start:
                continue
            if span.end is None or moment < span.end:
                fire(span, level, moment)  # type: ignore[arg-type]
                done = SEVERITY[level]
        fired[span.due] = done

    apologies = [e for e in timeline.counted if e.type == "apologized"]
    for alert in [a for a in out if a.level == "overdue"]:
        when = rules.next_working_morning(alert.fire_at)
        # Alerts follow the holder: a late unit out of force by then has handed the
        # dossier (or stage) over, and only its successor can still apologize.
        recipient, late = alert.unit_id, {alert.unit_id}
        for move in timeline.handovers:  # in time order
            same = move.kind == stage and (stage == "owner" or move.stage == index)
            if same and move.from_unit == recipient and move.at <= when:
                recipient = move.to_unit
                late.add(recipient)
        if any(e.unit_id in late and e.occurred_at <= when for e in apologies):
            continue
        out.append(
            Alert(
                alert_id(timeline.dossier_id, stage, index, "apology_missing", alert.due_at),
                "apology_missing",
                timeline.dossier_id,
                recipient,
                alert.stage,
                when,
                alert.due_at,
            )
        )
    return out
