"""``quangtri-2025-07``: the period across the 1 July 2025 reorganisation (15 June – 14 July).

Test and demo data, not a reconstruction of real figures. Dossiers received from 20 May
at the 2022 units, some still open on 1 July; from then on dossiers arrive at the 78
commune-level units and at the departments of the merged province.

The bundled registry names no department after 1 July 2025 (no verified list exists), so
the scenario writes its own *simulated* departments file: every 2022 department (report
group I) is assumed to continue under the id ``<2022 id>-2025`` and the same name, with
the 2022 unit as its predecessor. That file is written next to the events, with a copy
of the registry, and replays need it (``--units <out>.units``). Dossiers open at an
abolished district committee or commune desk stay there (no successor), as the rules say.
"""

from __future__ import annotations

import csv
import json
import random
import shutil
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from tthc_monitor.core.calendar import WorkingCalendar
from tthc_monitor.reference.csv_files import UNIT_COLUMNS, UNIT_VERSION_COLUMNS
from tthc_monitor.reference.registry import Registry, load_registry
from tthc_monitor.reference.versions import expand_paths

__all__ = ["CHANGE", "FIRST_RECEIVED", "PERIOD_END", "write_quangtri_2025_07"]

CHANGE = date(2025, 7, 1)
FIRST_RECEIVED = date(2025, 5, 20)
"""Dossiers from before the period's start (15 June) are its carried-over work."""
PERIOD_END = date(2025, 7, 15)
"""00:00 of 15 July: the end of the 2025-07 period (cut day 15)."""
SIMULATED_DEPARTMENTS = "quangtri-2025-departments.simulated.csv"


@dataclass
class _Dossier:
    dossier_id: str
    events: list[dict[str, Any]] = field(default_factory=list)

    def add(self, type_: str, when: datetime, unit: str, **fields: Any) -> None:
        body: dict[str, Any] = {
            "schema_version": 1,
            "event_id": f"{self.dossier_id}-{len(self.events):02d}",
            "type": type_,
            "dossier_id": self.dossier_id,
            "occurred_at": when.isoformat(),
            "unit_id": unit,
        }
        body.update(fields)
        self.events.append(body)


class _Scenario:
    def __init__(self, registry: Registry, calendar: WorkingCalendar, seed: int) -> None:
        self.registry = registry
        self.calendar = calendar
        self.rng = random.Random(seed)
        self.tz = calendar.tz
        units = registry.units
        old_day = CHANGE - timedelta(days=1)
        self.old_departments = [
            u
            for u in registry.top_level()
            if units[u].report_group == "I" and registry.in_force(u, old_day)
        ]
        self.old_local = [
            u.unit_id
            for u in units.values()
            if u.kind in ("district_committee", "commune_one_stop")
            and registry.in_force(u.unit_id, old_day)
        ]
        self.communes = [
            u.unit_id
            for u in units.values()
            if u.kind == "commune_center" and registry.in_force(u.unit_id, CHANGE)
        ]
        self.successor = {
            u.unit_id: u.successor_id for u in units.values() if u.successor_id is not None
        }
        self.new_departments = [self.successor[u] for u in self.old_departments]
        self.predecessor = {new: old for old, new in self.successor.items()}

    # -- time ---------------------------------------------------------------------------
    def working_moment(self, day: date) -> datetime:
        """A moment of office hours on the first working day from ``day``."""
        while not self.calendar.is_working_day(day):
            day += timedelta(days=1)
        minutes = self.rng.randrange(7 * 60 + 30, 16 * 60 + 30)
        return datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=self.tz)

    def later(self, moment: datetime, low: int, high: int) -> datetime:
        day = self.calendar.add_working_days(
            moment.astimezone(self.tz).date(), self.rng.randint(low, high)
        )
        return max(self.working_moment(day), moment + timedelta(minutes=1))

    def holder(self, unit: str, when: datetime) -> str | None:
        """Who acts for ``unit`` at ``when``: itself while in force, else its successor
        (None: abolished without one)."""
        day = when.astimezone(self.tz).date()
        while not self.registry.in_force(unit, day):
            next_unit = self.successor.get(unit)
            if next_unit is None:
                return None
            unit = next_unit
        return unit

    def procedure(self, unit: str) -> str:
        # A continuing department handles its predecessor's procedures (the catalog
        # still names the 2022 owner: an event's procedure may be owned by any unit).
        available = self.registry.procedures_available(self.predecessor.get(unit, unit))
        return self.rng.choice(available).procedure_id

    # -- dossiers -----------------------------------------------------------------------
    def dossier(self, number: int, owner: str, received: datetime) -> _Dossier:
        rng = self.rng
        d = _Dossier(f"HS-2025-{number:06d}")
        d.add(
            "received",
            received,
            owner,
            procedure_id=self.procedure(owner),
            channel=rng.choice(("online", "online", "direct", "postal")),
        )
        moment = received
        if owner in self.old_departments or owner in self.new_departments:
            departments = self.old_departments if owner in self.old_departments else None
            if rng.random() < 0.3:
                partner_pool = departments or self.new_departments
                partner = rng.choice([u for u in partner_pool if u != owner])
                sent = self.later(moment, 1, 3)
                sender, to = self.holder(owner, sent), self.holder(partner, sent)
                if sender is None or to is None or sender == to:
                    return d
                d.add("transferred", sent, sender, to_unit_id=to)
                back = self.later(sent, 2, 6)
                if back.date() >= PERIOD_END + timedelta(days=10):
                    return d
                returner, owner_then = self.holder(to, back), self.holder(owner, back)
                if returner is None or owner_then is None:
                    return d
                d.add("transferred", back, returner, to_unit_id=owner_then)
                moment = back
        closed = self.later(moment, 1, 12)
        if closed.date() >= PERIOD_END + timedelta(days=10):
            return d  # still open when the data ends
        closer = self.holder(owner, closed)
        if closer is None:
            return d  # abolished without a successor: it stays open there
        kind = "withdrawn" if rng.random() < 0.03 else "resolved"
        d.add(kind, closed, closer)
        return d

    def dossiers(self) -> list[_Dossier]:
        out: list[_Dossier] = []
        day = FIRST_RECEIVED
        while day < PERIOD_END:
            if self.calendar.is_working_day(day):
                before = day < CHANGE
                count = 60 if before else 90
                for _ in range(count):
                    received = self.working_moment(day)
                    if before:
                        pool = self.old_departments if self.rng.random() < 0.7 else self.old_local
                    else:
                        pool = self.new_departments if self.rng.random() < 0.3 else self.communes
                    out.append(self.dossier(len(out) + 1, self.rng.choice(pool), received))
            day += timedelta(days=1)
        return out


def simulated_departments(registry: Registry) -> list[dict[str, str]]:
    """Rows of the simulated 2025 departments file (see the module docstring)."""
    day = CHANGE - timedelta(days=1)
    rows = []
    for unit_id in registry.top_level():
        unit = registry.unit(unit_id)
        if unit.report_group != "I" or not registry.in_force(unit_id, day):
            continue
        rows.append(
            {
                **{c: "" for c in UNIT_COLUMNS + UNIT_VERSION_COLUMNS},
                "unit_id": f"{unit_id}-2025",
                "name": unit.name,
                "level": unit.level,
                "kind": unit.kind,
                "report_group": "I",
                "report_order": str(unit.report_order),
                "valid_from": CHANGE.isoformat(),
                "predecessor_id": unit_id,
            }
        )
    return rows


def write_quangtri_2025_07(
    units: Path | None, procedures: Path | None, calendar: WorkingCalendar, out: Path, seed: int
) -> int:
    """Write the events to ``out`` and the registry they need to ``<out>.units/``."""
    from tthc_monitor.reference.bundled import BUNDLED_UNIT_VERSIONS, bundled_path

    folder = out.with_suffix(".units")
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for source in expand_paths(units if units is not None else bundled_path(BUNDLED_UNIT_VERSIONS)):
        shutil.copyfile(source, folder / source.name)
    base = load_registry(folder, procedures)
    rows = simulated_departments(base)
    with (folder / SIMULATED_DEPARTMENTS).open("w", encoding="utf-8", newline="") as handle:
        columns = [*UNIT_COLUMNS, *UNIT_VERSION_COLUMNS, "predecessor_id"]
        writer = csv.DictWriter(handle, columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    registry = load_registry(folder, procedures)
    events = [e for d in _Scenario(registry, calendar, seed).dossiers() for e in d.events]
    events.sort(key=lambda e: e["occurred_at"])
    with out.open("w", encoding="utf-8") as handle:
        for event in events:
            handle.write(json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n")
    return len(events)
