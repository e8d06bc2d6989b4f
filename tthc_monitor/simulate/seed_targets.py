"""Turns the seed report's appendices (CSV) into the generator's target tables.

The appendix CSVs are in `tests/fixtures/seed/quangtri-2022-04/`; the README beside
them (`tests/fixtures/seed/README.md`) cites the published report.

Run once when the seed changes:

    python -m tthc_monitor.simulate.seed_targets tests/fixtures/seed/quangtri-2022-04 \\
        tthc_monitor/simulate/data/quangtri-2022-04.json

The output keys every figure by registry unit id; the generator reads only that file.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

from tthc_monitor.reference.registry import Registry, load_registry
from tthc_monitor.report.profile import FixedRowsTable, ReportProfile, load_profile

PL3_FIELDS = (
    "received_online",
    "carried_over",
    "received_direct",
    "received_interagency",
    "resolved_early",
    "resolved_on_time",
    "resolved_late",
    "late_as_initial",
    "apologized",
    "late_as_interagency",
    "extended",
)


def _rows(folder: Path, name: str) -> list[dict[str, str]]:
    with (folder / name).open(encoding="utf-8") as handle:
        return [
            r
            for r in csv.DictReader(handle)
            if r.get("stt") != "total" and r.get("district_no") != "total"
        ]


def _int(value: str) -> int:
    return int(value) if value.strip() else 0


def extract(folder: Path, registry: Registry, profile: ReportProfile) -> dict[str, Any]:
    """The report profile says which printed name is which unit (the same map the
    export uses, so generator and report cannot disagree)."""
    by_name = {unit.name: unit_id for unit_id, unit in registry.units.items()}
    for table in (profile.pl2a, profile.pl2b):
        by_name.update({printed: unit_id for unit_id, printed in table.names.items()})

    def unit_of(name: str) -> str:
        return by_name[name]

    def rows_of(table: FixedRowsTable) -> dict[str, str]:
        return {row.name or registry.unit(row.unit_id).name: row.unit_id for row in table.rows}

    units: dict[str, dict[str, Any]] = {}
    for row in _rows(folder, "appendix3_resolution.csv"):
        units[unit_of(row["unit_name"])] = {f: _int(row[f]) for f in PL3_FIELDS}
    for row in _rows(folder, "appendix1_online_reception.csv"):
        entry = units.setdefault(unit_of(row["unit_name"]), dict.fromkeys(PL3_FIELDS, 0))
        for field in ("received_online", "carried_over", "received_direct"):
            entry[field] = _int(row[field])
    for entry in units.values():
        entry["digitization"] = {
            "received": 0,
            "with_components": 0,
            "fully": 0,
            "resolved": 0,
            "results": 0,
        }
        entry["fees"] = {"dossiers": 0, "paid_national_portal": 0, "recorded_one_stop": 0}
    for row in _rows(folder, "appendix2a_component_digitization.csv"):
        dig = units[unit_of(row["unit_name"])]["digitization"]
        dig.update(
            received=_int(row["received"]),
            with_components=_int(row["with_components_digitized"]),
            fully=_int(row["fully_digitized"]),
        )
    for row in _rows(folder, "appendix2b_result_digitization.csv"):
        dig = units[unit_of(row["unit_name"])]["digitization"]
        dig.update(resolved=_int(row["resolved"]), results=_int(row["results_digitized"]))

    def fees(row: dict[str, str]) -> dict[str, int]:
        return {
            "dossiers": _int(row["fee_dossiers"]),
            "paid_national_portal": _int(row["paid_national_portal"]),
            "recorded_one_stop": _int(row["fee_recorded_one_stop"]),
        }

    departments, districts = rows_of(profile.pl5), rows_of(profile.pl6b)
    for row in _rows(folder, "appendix5_fees_departments.csv"):
        units[departments[row["unit_name"]]]["fees"] = fees(row)
    for row in _rows(folder, "appendix6b_district_fee_payments.csv"):
        units[districts[row["unit_name"]]]["fees"] = fees(row)
    branch_fees = {
        unit_of(row["unit_name"]): fees(row)
        for row in _rows(folder, "appendix6c_land_obligation_payments.csv")
    }

    points: dict[tuple[str, str], str] = {}
    for unit_id, unit in registry.units.items():
        if unit.kind in ("district_one_stop", "land_branch", "commune_one_stop") and unit.district:
            points[(unit.district, unit.kind)] = unit_id
    land_rows = {
        (d.name, point.name): (d.district, point.kind)
        for d in profile.pl4.districts
        for point in d.points
    }
    land: dict[str, dict[str, int]] = {}
    for row in _rows(folder, "appendix4_land_interagency.csv"):
        point = row["receiving_point"]
        if point == "Tổng":
            continue
        district, kind = land_rows[(row["district"], point)]
        figures = {
            "received_new": _int(row["received_new"]),
            "carried_over": _int(row["carried_over"]),
            "resolved_on_time": _int(row["resolved_on_time"]),
            "resolved_late": _int(row["resolved_late"]),
            "late_at_commune": _int(row["late_at_commune"]),
            "late_at_district": _int(row["late_at_district"]),
            "late_at_natural_resources": _int(row["late_at_natural_resources_dept"]),
            "late_at_construction": _int(row["late_at_construction_dept"]),
            "late_at_tax": _int(row["late_at_tax"]),
            "in_progress_within": _int(row["in_progress_within"]),
            "in_progress_overdue": _int(row["in_progress_overdue"]),
        }
        key = (district, kind)
        if key in points:
            land[points[key]] = figures
        elif any(figures.values()):
            raise ValueError(f"PL4 row without a registry unit: {row['district']} / {point}")
    return {
        "scenario": "quangtri-2022-04",
        "period": "2022-04",
        "land_period": "2022-03",
        "land_months": 3,
        "units": units,
        "branch_fees": branch_fees,
        "land": land,
    }


def main() -> int:
    folder, out = Path(sys.argv[1]), Path(sys.argv[2])
    document = extract(folder, load_registry(), load_profile())
    out.write_text(
        json.dumps(document, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8"
    )
    print(f"wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
