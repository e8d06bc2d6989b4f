"""Phụ lục 2 (digitization) and Phụ lục 5/6 (fees and online payment) of April's new dossiers."""

from __future__ import annotations

from tthc_monitor.simulate.plan import DossierPlan, Flags
from tthc_monitor.simulate.quangtri.base import BuilderBase


class DigitizationAndFees(BuilderBase):
    """Sets digitization, fee and payment flags on a row's April dossiers."""

    def digitize(
        self, top: str, new: list[DossierPlan], resolved: list[DossierPlan], dig: dict[str, int]
    ) -> None:
        for index, plan in enumerate(new):
            plan.flags.components = index < dig["received"]
            if index < dig["with_components"]:
                plan.components = (plan.received.replace(minute=50), index < dig["fully"])

        # Dossiers whose unit has no procedure without result digitization come first.
        def must_digitize(plan: DossierPlan) -> bool:
            flags = Flags(plan.flags.land, plan.flags.fee, plan.flags.components, False)
            return not self.picker.can(plan.owner, flags)

        ordered = sorted(resolved, key=lambda p: not must_digitize(p))
        forced = sum(1 for p in resolved if must_digitize(p))
        if forced > dig["resolved"]:
            self.note(
                "PL2b",
                top,
                "resolved",
                dig["resolved"],
                forced,
                "the catalog gives these units' land procedures result digitization",
            )
        for index, plan in enumerate(ordered):
            plan.flags.results = index < dig["resolved"]
            if index < dig["results"]:
                assert plan.closed is not None
                plan.result_digitized = plan.closed.replace(minute=5)

    def fees(self, top: str, new: list[DossierPlan], fees: dict[str, int]) -> None:
        if top == "so-tai-nguyen-va-moi-truong":
            split: dict[str | None, dict[str, int]] = {
                b: dict(f) for b, f in self.targets["branch_fees"].items()
            }
            rest = {k: fees[k] - sum(f[k] for f in split.values()) for k in fees}
            split[top] = rest
        else:
            split = {None: fees}
        for owner, f in split.items():
            plans = [p for p in new if owner is None or p.owner == owner]
            for index, plan in enumerate(plans):
                plan.flags.fee = index < f["dossiers"]
                pay_day = plan.received.replace(minute=55)
                if index < f["paid_national_portal"]:
                    plan.payments.append(("national_portal", pay_day))
                if index < f["recorded_one_stop"]:
                    plan.payments.append(("one_stop", pay_day))
