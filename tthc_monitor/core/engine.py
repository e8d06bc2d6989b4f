"""The counting engine: the pure rules bound to one registry, calendar and period scheme."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from functools import cached_property

from schemas.events import DossierEvent
from tthc_monitor.core.alerts import AlertRules
from tthc_monitor.core.calendar import WorkingCalendar
from tthc_monitor.core.counters import Contribution, CounterRules, contribution
from tthc_monitor.core.periods import PeriodScheme
from tthc_monitor.core.timeline import SuccessionInstant, Timeline, build_timeline
from tthc_monitor.reference.registry import Registry


class UnknownReference(ValueError):
    """An event names a unit or procedure that the reference data does not know."""

    def __init__(self, field: str, value: str) -> None:
        super().__init__(f"{field}: unknown {field.removesuffix('_id')} {value!r}")
        self.field = field
        self.value = value


class UnitNotInForce(UnknownReference):
    """An event names a unit that exists but is not in force at its ``occurred_at``
    (registry versions): refused with the reason ``unit not in force``."""

    def __init__(self, field: str, value: str) -> None:
        ValueError.__init__(self, f"{field}: unit not in force {value!r}")
        self.field = field
        self.value = value


@dataclass(frozen=True)
class Engine:
    registry: Registry
    calendar: WorkingCalendar
    periods: PeriodScheme
    alert_lead_days: int = 1
    alert_lead_overrides: Mapping[str, int] = field(default_factory=dict)
    """Working days before the due's date that ``due_soon`` fires (docs/alerts.md)."""

    @cached_property
    def alert_rules(self) -> AlertRules:
        return AlertRules(
            self.calendar,
            lead_days=self.alert_lead_days,
            lead_overrides=self.alert_lead_overrides,
        )

    @cached_property
    def rules(self) -> CounterRules:
        kinds = {unit_id: unit.kind for unit_id, unit in self.registry.units.items()}
        return CounterRules(self.periods, self.registry.procedures, kinds)

    def check_references(self, event: DossierEvent) -> None:
        """Raise UnknownReference naming the field when an id is not in the registry."""
        units = self.registry.units
        if event.unit_id not in units:
            raise UnknownReference("unit_id", event.unit_id)
        # __dict__, not getattr: a missing attribute costs pydantic an exception.
        to_unit = event.__dict__.get("to_unit_id")
        if to_unit is not None and to_unit not in units:
            raise UnknownReference("to_unit_id", to_unit)
        if self.registry.versioned:
            day = self.calendar.local_date(event.occurred_at)
            if not self.registry.in_force(event.unit_id, day):
                raise UnitNotInForce("unit_id", event.unit_id)
            if to_unit is not None and not self.registry.in_force(to_unit, day):
                raise UnitNotInForce("to_unit_id", to_unit)
        procedure = event.__dict__.get("procedure_id")
        if procedure is not None and procedure not in self.registry.procedures:
            raise UnknownReference("procedure_id", procedure)

    def _days(self, procedure_id: str) -> int:
        return self.registry.procedures[procedure_id].processing_days

    @cached_property
    def successions(self) -> tuple[SuccessionInstant, ...]:
        """The registry's successions at their instants (00:00 local of ``valid_to``)."""
        return tuple(
            SuccessionInstant(
                datetime.combine(s.day, time(0), tzinfo=self.calendar.tz),
                s.unit_id,
                s.successor_id,
            )
            for s in self.registry.successions()
        )

    def timeline(
        self, dossier_id: str, events: Iterable[DossierEvent], horizon: datetime | None = None
    ) -> Timeline:
        """The dossier's timeline with the successions up to ``horizon`` (all of them when
        None: the registry is taken to describe changes that have happened)."""
        successions = self.successions
        if horizon is not None:
            successions = tuple(s for s in successions if s.at <= horizon)
        return build_timeline(dossier_id, events, self.calendar, self._days, successions)

    def evaluate(
        self, dossier_id: str, events: Iterable[DossierEvent], horizon: datetime | None = None
    ) -> tuple[Timeline, Contribution]:
        timeline = self.timeline(dossier_id, events, horizon)
        return timeline, contribution(timeline, self.rules)
