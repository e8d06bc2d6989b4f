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

from __future__ import annotations

import itertools
import json
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from typing import Any

from tthc_monitor.core.calendar import WorkingCalendar
from tthc_monitor.core.counters import LAND_STAGE_COLUMNS
from tthc_monitor.reference.registry import Registry
from tthc_monitor.simulate.plan import DossierPlan, Flags, Stage, at
from tthc_monitor.simulate.procedures import ProcedurePicker

Q_FIRST = date(2021, 12, 15)
P_FIRST = date(2022, 3, 15)
P_LAST_RECEIPT = date(2022, 3, 31)
# Dues of dossiers carried into April, and the days their April outcomes happen on.
CARRIED_DUE = date(2022, 3, 25)
OVERDUE_DUE = date(2022, 3, 10)
CARRIED_EARLY, CARRIED_ON_TIME, CARRIED_LATE = date(2022, 3, 22), CARRIED_DUE, date(2022, 3, 29)
FAR = date(2022, 6, 30)


def load_targets(name: str = "quangtri-2022-04") -> dict[str, Any]:
    text = resources.files("tthc_monitor.simulate").joinpath("data", f"{name}.json")
    document: dict[str, Any] = json.loads(text.read_text("utf-8"))
    return document


@dataclass
class Reconciled:
    appendix: str
    unit_id: str
    field: str
    printed: int
    produced: int
    reason: str


@dataclass
class Outcome:
    """Planned April outcomes of one report row's owned dossiers."""

    early: int = 0
    on_time: int = 0
    late: int = 0


@dataclass
class Builder:
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

    # -- small helpers --------------------------------------------------------------
    def working_days(self, first: date, last: date) -> list[date]:
        day, out = self.calendar.next_working_day(first), []
        while day <= last:
            out.append(day)
            day = self.calendar.add_working_days(day, 1)
        return out

    def wd(self, day: date, n: int) -> date:
        return self.calendar.add_working_days(day, n)

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

    # -- the land quarter ------------------------------------------------------------
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

    def carried_stages_needed(self, top: str) -> int:
        """Inter-agency stages the row must have open on 15/3 (late ones finished in April)."""
        t: dict[str, int] = self.targets["units"][top]
        resolved = t["resolved_early"] + t["resolved_on_time"] + t["resolved_late"]
        owned = t["carried_over"] + t["received_online"] + t["received_direct"]
        needed = max(t["late_as_interagency"], resolved - owned)
        return max(0, needed - t["received_interagency"])

    # -- April ------------------------------------------------------------------------
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

    def prev_wd(self, day: date) -> date:
        day = date.fromordinal(day.toordinal() - 1)
        while not self.calendar.is_working_day(day):
            day = date.fromordinal(day.toordinal() - 1)
        return day

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

    # -- inter-agency stages hosted by other rows' dossiers ---------------------------------
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

    # -- output -----------------------------------------------------------------------------
    def choose_procedures(self) -> None:
        for plan in self.plans:
            plan.procedure_id = self.picker.pick(plan.owner, plan.flags)


def build(registry: Registry, calendar: WorkingCalendar, seed: int) -> Builder:
    builder = Builder(registry, calendar, load_targets(), seed)
    carried = builder.land_quarter()
    builder.april(carried)
    builder.choose_procedures()
    return builder
