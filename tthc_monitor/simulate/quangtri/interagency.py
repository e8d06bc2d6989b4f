"""Inter-agency stages a report row hosts on other rows' dossiers (Phụ lục 3)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from tthc_monitor.simulate.plan import DossierPlan, Stage, at
from tthc_monitor.simulate.quangtri.base import BuilderBase
from tthc_monitor.simulate.quangtri.targets import P_FIRST


class InteragencyStages(BuilderBase):
    """Places each row's inter-agency stages on dossiers owned by other rows."""

    def stage_unit(self, top: str, host: DossierPlan) -> str:
        district = self.registry.unit(host.owner).district
        if top == "cuc-thue":
            return self.unit_by("tax", district) or top
        if top == "so-tai-nguyen-va-moi-truong":
            return self.unit_by("land_branch", district) or top
        unit = self.registry.unit(top)
        if unit.kind == "district_committee":
            return self.unit_by("district_one_stop", unit.district) or top
        return top

    def place_stages(self, needs: list[tuple[str, str, bool]]) -> None:
        # Candidate hosts by (report row, carried into April?, still open in April?).
        pools: dict[tuple[bool, bool], dict[str, list[DossierPlan]]] = defaultdict(
            lambda: defaultdict(list)
        )
        for plan in self.plans:
            if plan.trick or plan.flags.land or plan.received.date() < date(2022, 3, 1):
                continue
            key = (plan.received.date() < P_FIRST, plan.close is None)
            pools[key][self.top_of(plan.owner)].append(plan)
        for bucket in pools.values():
            for plans in bucket.values():
                self.rng.shuffle(plans)
        for top, fate, carried in needs:
            host = self.find_host(pools, top, fate, carried)
            if host is None:
                self.note("PL3", top, "received_interagency", 1, 0, "no host dossier left")
                continue
            host.host = True
            unit = self.stage_unit(top, host)
            if carried:
                start = at(self.wd(host.received.date(), 1), 9)
                back = date(2022, 3, 17)
            elif host.received.date() < P_FIRST:
                start, back = at(date(2022, 3, 16), 16), date(2022, 3, 17)
            else:
                start = host.received.replace(hour=16, minute=0)
                back = self.wd(host.received.date(), 1)
            due = {
                "late": at(start.date() if not carried else date(2022, 3, 16), 17),
                "on_time": at(back, 17),
                "early": at(self.wd(back, 1), 17),
                "open": at(back, 17),
            }[fate]
            end = None if fate == "open" else at(back, 9)
            host.stages.append(Stage(unit, start, end, due))
            if end is not None and fate == "late" and self.apologies_left.get(top, 0):
                # The unit that made the dossier late writes the apology (form 04).
                self.apologies_left[top] -= 1
                host.apologies.append((unit, end.replace(hour=8)))

    def find_host(
        self,
        pools: dict[tuple[bool, bool], dict[str, list[DossierPlan]]],
        top: str,
        fate: str,
        carried: bool,
    ) -> DossierPlan | None:
        """A host from the row with the most candidates left (spreads the load)."""
        keys = [(carried, True)] if fate == "open" else [(carried, False), (carried, True)]
        if fate == "open" and not carried:
            keys.append((True, True))  # a March dossier still open can take an April stage
        best: list[DossierPlan] | None = None
        for key in keys:
            for row, plans in pools[key].items():
                if row != top and plans and (best is None or len(plans) > len(best)):
                    best = plans
        return best.pop() if best else None
