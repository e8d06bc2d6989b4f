"""A dossier's planned life, and the events that carry it out.

The generator decides what each dossier does (owner, flags, stages, close, payments)
as a :class:`DossierPlan`; :func:`events_of` turns a plan into contract events. The
counting rules then derive the report from the events alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, Literal

from tthc_monitor.core.calendar import WorkingCalendar
from tthc_monitor.core.periods import LOCAL_TZ


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=LOCAL_TZ)


@dataclass
class Flags:
    """What the dossier's procedure must be: None means either way."""

    land: bool = False
    fee: bool | None = None
    components: bool | None = None
    results: bool | None = None


@dataclass
class Stage:
    """An inter-agency stage: handed to ``unit`` at ``start``, back to the owner at ``end``."""

    unit: str
    start: datetime
    end: datetime | None
    due: datetime


@dataclass
class DossierPlan:
    dossier_id: str
    owner: str
    received: datetime
    due: datetime
    channel: Literal["online", "direct", "postal"] = "direct"
    flags: Flags = field(default_factory=Flags)
    first_stage_due: datetime | None = None
    stages: list[Stage] = field(default_factory=list)
    return_due: datetime | None = None
    """Stage due of the owner's stage after the last return (default: the dossier due)."""
    close: Literal["resolved", "withdrawn"] | None = None
    closed: datetime | None = None
    components: tuple[datetime, bool] | None = None
    result_digitized: datetime | None = None
    payments: list[tuple[str, datetime]] = field(default_factory=list)
    apologies: list[tuple[str, datetime]] = field(default_factory=list)
    """(apologizing unit, when)."""
    procedure_id: str = ""
    fate: str = ""
    """The outcome the generator planned (early, on_time, late, within, overdue, ...)."""
    trick: bool = False
    """True when the owner's stage due is set apart from the dossier due on purpose."""
    host: bool = False
    """True once the plan carries a stage for another unit's figures."""


class Emitter:
    """Numbers the events of each plan; event ids are stable for a given plan list."""

    def __init__(self, calendar: WorkingCalendar) -> None:
        self.calendar = calendar

    def events_of(self, plan: DossierPlan) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []

        def add(type_: str, when: datetime, unit: str, **fields: Any) -> None:
            body: dict[str, Any] = {
                "schema_version": 1,
                "event_id": f"{plan.dossier_id}-{len(out):02d}",
                "type": type_,
                "dossier_id": plan.dossier_id,
                "occurred_at": when.isoformat(),
                "unit_id": unit,
            }
            body.update(
                {
                    k: v.isoformat() if isinstance(v, datetime) else v
                    for k, v in fields.items()
                    if v is not None
                }
            )
            out.append(body)

        add(
            "received",
            plan.received,
            plan.owner,
            procedure_id=plan.procedure_id,
            channel=plan.channel,
            due_at=plan.due,
            stage_due_at=plan.first_stage_due,
        )
        if plan.components is not None:
            add(
                "digitized",
                plan.components[0],
                plan.owner,
                target="components",
                complete=plan.components[1],
            )
        for index, stage in enumerate(plan.stages):
            add(
                "transferred",
                stage.start,
                plan.owner,
                to_unit_id=stage.unit,
                stage_due_at=stage.due,
            )
            if stage.end is not None:
                last = index == len(plan.stages) - 1
                add(
                    "transferred",
                    stage.end,
                    stage.unit,
                    to_unit_id=plan.owner,
                    stage_due_at=plan.return_due if last else None,
                )
        for channel, when in plan.payments:
            add("paid", when, plan.owner, channel=channel, amount_vnd=150_000)
        for unit, when in plan.apologies:
            add("apologized", when, unit)
        if plan.close is not None and plan.closed is not None:
            add(plan.close, plan.closed, plan.owner)
            if plan.result_digitized is not None:
                add("digitized", plan.result_digitized, plan.owner, target="result", complete=True)
        return out
