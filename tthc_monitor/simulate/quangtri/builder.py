"""The scenario builder: runs the appendix planners in order over one shared state."""

from __future__ import annotations

from tthc_monitor.core.calendar import WorkingCalendar
from tthc_monitor.reference.registry import Registry
from tthc_monitor.simulate.plan import DossierPlan
from tthc_monitor.simulate.quangtri.april import AprilRows
from tthc_monitor.simulate.quangtri.interagency import InteragencyStages
from tthc_monitor.simulate.quangtri.land import LandQuarter
from tthc_monitor.simulate.quangtri.targets import load_targets


class Builder(LandQuarter, AprilRows, InteragencyStages):
    """The Quảng Trị April 2022 scenario: dossiers planned from the report's target tables.

    Targets (``data/quangtri-2022-04.json``, extracted from the seed appendices by
    ``seed_targets.py``) give, per unit, what the month's report prints. The builder plans
    dossiers whose events produce exactly those figures under the counting rules:

    * the land appendix's quarter (15/12/2021–14/3/2022) first: land dossiers with
      inter-agency stages per receiving point; those still open on 15/3 are carried into
      April;
    * then, per report row, carried-over dossiers, carried inter-agency stages, the
      month's receptions with their outcome (early, on time, late, open), digitization,
      fees and apologies, and inter-agency stages hosted by other units' dossiers.

    Where the printed tables contradict each other under the rules, the builder honours
    one number and records the other in ``reconciled`` (docs/reconciliation.md).
    """

    def april(self, carried_land: dict[str, list[DossierPlan]]) -> None:
        rows = self.targets["units"]
        needs: list[tuple[str, str, bool]] = []  # (report row, stage fate, carried into April)
        for top in rows:
            needs.extend(self.april_row(top, carried_land.get(top, [])))
        self.place_stages(needs)
        for top, left in self.apologies_left.items():
            if left:
                printed = self.targets["units"][top]["apologized"]
                self.note(
                    "PL3",
                    top,
                    "apologized",
                    printed,
                    printed - left,
                    "fewer late dossiers and late stages than apologies",
                )

    def choose_procedures(self) -> None:
        for plan in self.plans:
            plan.procedure_id = self.picker.pick(plan.owner, plan.flags)


def build(registry: Registry, calendar: WorkingCalendar, seed: int) -> Builder:
    builder = Builder(registry, calendar, load_targets(), seed)
    carried = builder.land_quarter()
    builder.april(carried)
    builder.choose_procedures()
    return builder
