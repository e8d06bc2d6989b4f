"""Phụ lục 1 and 3 per report row: April's carried-over, received and resolved dossiers."""

from __future__ import annotations

from dataclasses import dataclass

from tthc_monitor.simulate.plan import DossierPlan, at
from tthc_monitor.simulate.quangtri.digitization import DigitizationAndFees
from tthc_monitor.simulate.quangtri.targets import (
    CARRIED_DUE,
    CARRIED_EARLY,
    CARRIED_LATE,
    CARRIED_ON_TIME,
    FAR,
)


@dataclass
class Outcome:
    """Planned April outcomes of one report row's owned dossiers."""

    early: int = 0
    on_time: int = 0
    late: int = 0


class AprilRows(DigitizationAndFees):
    """Plans one report row's April dossiers and returns the inter-agency stages it needs."""

    def april_row(self, top: str, land: list[DossierPlan]) -> list[tuple[str, str, bool]]:
        t = self.targets["units"][top]
        online, direct = t["received_online"], t["received_direct"]
        early, on_time, late = t["resolved_early"], t["resolved_on_time"], t["resolved_late"]
        resolved = early + on_time + late
        lia, lai = t["late_as_interagency"], t["late_as_initial"]
        carried_stages = self.carried_stages_needed(top)
        generic = t["carried_over"] - len(land) - carried_stages
        if generic < 0:
            self.note(
                "PL1/PL3",
                top,
                "carried_over",
                t["carried_over"],
                t["carried_over"] - generic,
                "more dossiers open on 15/3 than printed",
            )
            generic = 0
        owned = len(land) + generic + online + direct
        stages_done = max(lia, resolved - owned)
        dig = dict(t["digitization"])
        if resolved - stages_done < dig["resolved"]:
            self.note(
                "PL2b",
                top,
                "resolved",
                dig["resolved"],
                resolved - stages_done,
                f"Phụ lục 3 has {top} finish {stages_done} inter-agency stages "
                f"({lia} late) out of {resolved} resolved, leaving "
                f"{resolved - stages_done} owned dossiers resolved; Phụ lục 2b counts "
                "owned dossiers only",
            )
            dig["resolved"] = resolved - stages_done
        if dig["received"] > online + direct:
            self.note(
                "PL2a",
                top,
                "received",
                dig["received"],
                online + direct,
                "more dossiers digitized at reception than received in the month "
                "(Phụ lục 1/3 online + direct)",
            )
            for name in ("received", "with_components", "fully"):
                dig[name] = min(dig[name], online + direct)
        stage_early = min(early, stages_done - lia)
        stage_on_time = stages_done - lia - stage_early
        stage_fates = ["late"] * lia + ["early"] * stage_early + ["on_time"] * stage_on_time
        all_stages = t["received_interagency"] + carried_stages
        stage_fates += ["open"] * (all_stages - len(stage_fates))
        needs = [(top, fate, i < carried_stages) for i, fate in enumerate(stage_fates)]

        own = Outcome(early - stage_early, on_time - stage_on_time, late - lia)
        new = self.new_dossiers(top, online, direct)
        generic_plans = [self.generic_carried(top) for _ in range(generic)]
        # x: late dossiers whose owner stage is not late; y: owner stages late on time.
        x = max(0, own.late - lai)
        y = max(0, lai - own.late)
        pools_late = (
            [p for p in land if p.fate == "overdue"]
            + [p for p in land if p.fate == "within"]
            + generic_plans
            + new
        )
        assigned: set[int] = set()
        resolved_plans: list[DossierPlan] = []

        def take(pool: list[DossierPlan], count: int, fate: str) -> int:
            done = 0
            for plan in pool:
                if done == count:
                    break
                if id(plan) in assigned or (fate != "late" and plan.fate == "overdue"):
                    continue
                assigned.add(id(plan))
                self.resolve_in_april(plan, fate)
                resolved_plans.append(plan)
                done += 1
            return done

        tricks = [p for p in new + generic_plans if not p.host][:x]
        for plan in tricks:
            plan.first_stage_due, plan.trick = at(FAR, 17), True
        late_done = take(tricks, x, "late")
        late_done += take(pools_late, own.late - late_done, "late")
        new_first = new + [p for p in land if p.fate == "within"] + generic_plans
        early_done = take(new_first, own.early, "early")
        on_time_done = take(new_first, own.on_time, "on_time")
        shortfall = (own.late - late_done) + (own.early - early_done) + (own.on_time - on_time_done)
        if shortfall:
            self.note(
                "PL3",
                top,
                "resolved",
                resolved,
                resolved - shortfall,
                "not enough owned dossiers for the printed outcomes",
            )
        for plan in [p for p in resolved_plans if p.fate == "early" and not p.trick][:y]:
            plan.first_stage_due, plan.trick = at(plan.received.date(), 17), True
        if y > len([p for p in resolved_plans if p.fate == "early" and p.trick]):
            self.note("PL3", top, "late_as_initial", lai, lai - y, "no early dossier left")

        self.digitize(top, new, resolved_plans, dig)
        self.fees(top, new, t["fees"])
        late_plans = [p for p in resolved_plans if p.fate == "late"]
        for plan in late_plans[: t["apologized"]]:
            assert plan.closed is not None
            plan.apologies.append((plan.owner, at(self.prev_wd(plan.closed.date()), 9)))
        # The rest go with the row's late inter-agency stages (placed later).
        self.apologies_left[top] = max(0, t["apologized"] - len(late_plans))
        if t["extended"]:
            self.note("PL3", top, "extended", t["extended"], 0, "not generated")
        return needs

    def new_dossiers(self, top: str, online: int, direct: int) -> list[DossierPlan]:
        owners = self.receivers(top, online + direct)
        plans = []
        channels = ["online"] * online + ["direct"] * direct
        for owner, channel in zip(owners, channels, strict=True):
            day = self.rng.choice(self.p_days)
            received = at(day, self.rng.randint(8, 15), self.rng.choice((0, 15, 30, 40)))
            plan = DossierPlan(
                self.new_id("TT", day),
                owner,
                received,
                at(self.wd(day, 3), 17),
                channel=channel,  # type: ignore[arg-type]
                fate="open",
            )
            plans.append(plan)
        self.plans.extend(plans)
        return plans

    def receivers(self, top: str, count: int) -> list[str]:
        """Which unit of the row receives each of its new dossiers (fee splits decide)."""
        unit = self.registry.unit(top)
        if unit.kind == "district_committee":
            return [self.unit_by("district_one_stop", unit.district) or top] * count
        if top == "so-tai-nguyen-va-moi-truong":
            owners: list[str] = []
            for branch, fees in sorted(self.targets["branch_fees"].items()):
                owners += [branch] * fees["dossiers"]
            return (owners + [top] * count)[:count]
        return [top] * count

    def generic_carried(self, top: str) -> DossierPlan:
        unit = self.registry.unit(top)
        owner = top
        if unit.kind == "district_committee":
            owner = self.unit_by("district_one_stop", unit.district) or top
        day = self.rng.choice(self.march)
        plan = DossierPlan(
            self.new_id("CO", day),
            owner,
            at(day, self.rng.randint(8, 15), self.rng.choice((0, 30))),
            at(CARRIED_DUE, 17),
            fate="within",
        )
        self.plans.append(plan)
        return plan

    def resolve_in_april(self, plan: DossierPlan, fate: str) -> None:
        plan.close = "resolved"
        if plan.fate == "open":  # received in April: outcome against its own due
            day = plan.received.date()
            plan.closed = at(self.wd(day, {"early": 1, "on_time": 3, "late": 5}[fate]), 10)
        else:
            plan.closed = at(
                {"early": CARRIED_EARLY, "on_time": CARRIED_ON_TIME, "late": CARRIED_LATE}[fate], 10
            )
        plan.fate = fate
