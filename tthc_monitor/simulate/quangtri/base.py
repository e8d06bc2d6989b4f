"""The scenario builder's state and the helpers every appendix planner shares."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from tthc_monitor.core.calendar import WorkingCalendar
from tthc_monitor.reference.registry import Registry
from tthc_monitor.simulate.plan import DossierPlan
from tthc_monitor.simulate.procedures import ProcedurePicker
from tthc_monitor.simulate.quangtri.targets import P_FIRST, P_LAST_RECEIPT, Q_FIRST


@dataclass
class Reconciled:
    appendix: str
    unit_id: str
    field: str
    printed: int
    produced: int
    reason: str


@dataclass
class BuilderBase:
    """State shared by the appendix planners (mixed into ``Builder``).

    One object, not one per appendix: the planners draw from a single random stream
    and append to one plan list, so their call order is what makes the month
    deterministic for a given seed.
    """

    registry: Registry
    calendar: WorkingCalendar
    targets: dict[str, Any]
    seed: int
    plans: list[DossierPlan] = field(default_factory=list)
    reconciled: list[Reconciled] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.picker = ProcedurePicker(self.registry, self.rng)
        self._ids = itertools.count(1)
        self.apologies_left: dict[str, int] = {}
        self.q_days = self.working_days(Q_FIRST, date(2022, 2, 18))
        self.before_q = self.working_days(date(2021, 10, 1), date(2021, 12, 10))
        self.p_days = self.working_days(P_FIRST, P_LAST_RECEIPT)
        self.march = self.working_days(date(2022, 3, 1), date(2022, 3, 11))

    def working_days(self, first: date, last: date) -> list[date]:
        day, out = self.calendar.next_working_day(first), []
        while day <= last:
            out.append(day)
            day = self.calendar.add_working_days(day, 1)
        return out

    def wd(self, day: date, n: int) -> date:
        return self.calendar.add_working_days(day, n)

    def prev_wd(self, day: date) -> date:
        day = date.fromordinal(day.toordinal() - 1)
        while not self.calendar.is_working_day(day):
            day = date.fromordinal(day.toordinal() - 1)
        return day

    def new_id(self, prefix: str, day: date) -> str:
        return f"000.00.{prefix}.H50-{day:%y%m%d}-{next(self._ids):05d}"

    def note(
        self, appendix: str, unit_id: str, name: str, printed: int, produced: int, reason: str
    ) -> None:
        if printed != produced:
            self.reconciled.append(Reconciled(appendix, unit_id, name, printed, produced, reason))

    def unit_by(self, kind: str, district: str | None) -> str | None:
        for unit_id, unit in self.registry.units.items():
            if unit.kind == kind and unit.district == district:
                return unit_id
        return None

    def top_of(self, unit_id: str) -> str:
        ancestors = self.registry.ancestors(unit_id)
        return ancestors[-1] if ancestors else unit_id

    def carried_stages_needed(self, top: str) -> int:
        """Inter-agency stages the row must have open on 15/3 (late ones finished in April)."""
        t: dict[str, int] = self.targets["units"][top]
        resolved = t["resolved_early"] + t["resolved_on_time"] + t["resolved_late"]
        owned = t["carried_over"] + t["received_online"] + t["received_direct"]
        needed = max(t["late_as_interagency"], resolved - owned)
        return max(0, needed - t["received_interagency"])
