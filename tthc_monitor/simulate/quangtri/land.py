"""Phụ lục 4's land quarter (15/12/2021–14/3/2022): land dossiers and their inter-agency stages."""

from __future__ import annotations

from collections import defaultdict

from tthc_monitor.core.counters import LAND_STAGE_COLUMNS
from tthc_monitor.simulate.plan import DossierPlan, Flags, Stage, at
from tthc_monitor.simulate.quangtri.base import BuilderBase
from tthc_monitor.simulate.quangtri.targets import CARRIED_DUE, FAR, OVERDUE_DUE, Q_FIRST


class LandQuarter(BuilderBase):
    """Plans Phụ lục 4's quarter before April: its open dossiers are April's carried-over."""

    def land_quarter(self) -> dict[str, list[DossierPlan]]:
        """Plan PL4's dossiers; returns the ones still open on 15/3, by report row."""
        carried: dict[str, list[DossierPlan]] = defaultdict(list)
        rows = self.targets["units"]
        land = self.targets["land"]
        by_top: dict[str, list[str]] = defaultdict(list)
        for point in land:
            by_top[self.top_of(point)].append(point)
        for top, points in sorted(by_top.items()):
            # Open land dossiers on 15/3 are part of the row's April carried-over figure,
            # which also needs room for the inter-agency stages the row must finish late.
            room = rows[top]["carried_over"] - self.carried_stages_needed(top)
            open_total = sum(
                land[p]["in_progress_within"] + land[p]["in_progress_overdue"] for p in points
            )
            excess = max(0, open_total - room)
            for point in sorted(points, key=lambda p: -land[p]["in_progress_overdue"]):
                figures = dict(land[point])
                cut = min(excess, figures["in_progress_overdue"])
                if cut:
                    excess -= cut
                    self.note(
                        "PL4",
                        point,
                        "in_progress_overdue",
                        figures["in_progress_overdue"],
                        figures["in_progress_overdue"] - cut,
                        f"open land dossiers on 15/3 cannot exceed the April carried-over "
                        f"figure of {top} in Phụ lục 1/3 ({rows[top]['carried_over']}); "
                        f"the difference is withdrawn during the quarter",
                    )
                    figures["in_progress_overdue"] -= cut
                for plan in self.land_point(point, figures):
                    if plan.close is None:
                        carried[top].append(plan)
        return carried

    def land_point(self, point: str, f: dict[str, int]) -> list[DossierPlan]:
        unit = self.registry.unit(point)
        own_column = LAND_STAGE_COLUMNS[unit.kind]
        district = unit.district
        default_kind = "tax" if unit.kind == "land_branch" else "land_branch"
        default_unit = self.unit_by(default_kind, district) or "so-tai-nguyen-va-moi-truong"
        default_column = LAND_STAGE_COLUMNS[default_kind]
        total = f["received_new"] + f["carried_over"]
        fates = (
            ["on_time"] * f["resolved_on_time"]
            + ["late"] * f["resolved_late"]
            + ["within"] * f["in_progress_within"]
            + ["overdue"] * f["in_progress_overdue"]
        )
        withdrawn = total - len(fates)
        fates += ["withdrawn"] * withdrawn
        self.rng.shuffle(fates)
        plans: list[DossierPlan] = []
        for index, fate in enumerate(fates):
            carried = index < f["carried_over"]
            day = self.rng.choice(self.before_q if carried else self.q_days)
            plan = DossierPlan(
                dossier_id=self.new_id("LD", day),
                owner=point,
                received=at(day, self.rng.randint(7, 15), self.rng.choice((0, 20, 40))),
                due=at(FAR, 17),
                flags=Flags(land=True),
                first_stage_due=at(FAR, 17),
            )
            plans.append(plan)
            start = self.wd(max(day, Q_FIRST), self.rng.randint(1, 8))
            plan.stages.append(
                Stage(
                    default_unit, at(start, 9), at(self.wd(start, 2), 15), at(self.wd(start, 5), 17)
                )
            )
            plan.fate = fate

        def late_stage(column: str, count: int) -> None:
            """Make ``count`` stages at units of ``column`` late (finished in the quarter)."""
            if not count:
                return
            if column == default_column:
                for plan in plans[:count]:
                    first = plan.stages[0]
                    first.due = at(first.start.date(), 17)
                return
            kind = {
                "commune": "commune_one_stop",
                "district": "district_one_stop",
                "natural_resources": "land_branch",
                "tax": "tax",
                "construction": "construction_department",
            }[column]
            target = (
                self.unit_by(kind, district) if kind != "construction_department" else "so-xay-dung"
            ) or "so-tai-nguyen-va-moi-truong"
            for plan in plans[-count:]:
                last = plan.stages[-1]
                assert last.end is not None
                start = self.wd(last.end.date(), 1)
                plan.stages.append(
                    Stage(target, at(start, 9), at(self.wd(start, 2), 15), at(start, 17))
                )

        for column in ("commune", "district", "natural_resources", "construction", "tax"):
            if column != own_column:
                late_stage(column, f[f"late_at_{column}"])
        # The owner's own late stages: the last stage of each dossier resolved late,
        # give or take owner stages that end late (first stage) or on time (last stage).
        owner_late = f[f"late_at_{own_column}"]
        late_plans = [p for p in plans if p.fate == "late"]
        others = [p for p in plans if p.fate != "late"]
        for plan in late_plans[owner_late:]:
            plan.return_due = at(FAR, 17)
        for plan in others[: max(0, owner_late - len(late_plans))]:
            plan.first_stage_due = at(plan.received.date(), 17)

        for plan in plans:
            fate = plan.fate
            last = plan.stages[-1]
            assert last.end is not None
            back = last.end.date()
            if fate in ("on_time", "late", "withdrawn"):
                plan.close = "withdrawn" if fate == "withdrawn" else "resolved"
                plan.closed = at(self.wd(back, 1), 10)
                plan.due = at(back, 8) if fate == "late" else at(self.wd(back, 6), 17)
            elif fate == "overdue":
                plan.due = at(OVERDUE_DUE, 17)
            else:
                plan.due = at(CARRIED_DUE, 17)
        self.plans.extend(plans)
        return plans
