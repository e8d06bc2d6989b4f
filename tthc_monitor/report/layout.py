"""`build_report`: every appendix of the monthly report laid out from two snapshots (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tthc_monitor.reference.registry import Registry
from tthc_monitor.report.appendix_fees import fee_table, sector_table
from tthc_monitor.report.appendix_land import land_table
from tthc_monitor.report.appendix_units import UNIT_TABLE_IDS, unit_table
from tthc_monitor.report.model import Appendix, Report, Table
from tthc_monitor.report.profile import ReportProfile
from tthc_monitor.report.snapshot_figures import snapshot_period, snapshot_units

__all__ = ["build_report"]

# Which units appear, under which name and in which order comes from the profile
# (`profile.py`); the columns, their headings and the arithmetic of each appendix are in
# the `appendix_*` modules.


def build_report(
    period_snapshot: Mapping[str, Any],
    land_snapshot: Mapping[str, Any],
    registry: Registry,
    profile: ReportProfile,
) -> Report:
    """Every appendix table of the monthly report, from the month's snapshot and the land
    snapshot (`months` = 3 for Quảng Trị's Phụ lục 4)."""
    month = snapshot_units(period_snapshot)
    land = snapshot_units(land_snapshot)
    tables: dict[str, Table] = {
        table_id: unit_table(table_id, getattr(profile, table_id), month, registry, profile)
        for table_id in UNIT_TABLE_IDS
    }
    tables["pl4"] = land_table(profile.pl4, land, registry)
    tables["pl5"] = fee_table(
        "pl5", "appendix5_fees_departments.csv", profile.pl5, month, registry, with_procedures=True
    )
    tables["pl6a"] = sector_table(profile.pl6a, registry)
    tables["pl6b"] = fee_table(
        "pl6b",
        "appendix6b_district_fee_payments.csv",
        profile.pl6b,
        month,
        registry,
        with_procedures=False,
    )
    tables["pl6c"] = fee_table(
        "pl6c",
        "appendix6c_land_obligation_payments.csv",
        profile.pl6c,
        month,
        registry,
        with_procedures=False,
    )
    period = snapshot_period(period_snapshot)
    land_period = snapshot_period(land_snapshot)
    appendices = tuple(
        Appendix(
            spec.id,
            spec.label,
            spec.sheet,
            spec.title,
            (land_period if spec.period == "land" else period).text,
            tuple(tables[t] for t in spec.tables),
        )
        for spec in profile.appendices
    )
    version = period_snapshot.get("version")
    return Report(
        province=profile.province,
        issuer=profile.issuer,
        period=period,
        land_period=land_period,
        as_of=str(period_snapshot.get("as_of", "")),
        version=None if version is None else str(version),
        appendices=appendices,
        tables=tables,
    )
