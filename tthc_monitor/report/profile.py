"""The report profile: a province's printed layout of the monthly report, as data.

Which units each appendix lists and under which printed name, in what order, with which
section groups, rate rounding and total labels. Code knows the columns of each appendix
(they are defined by the snapshot fields); everything a province would print differently
is here. `load_profile()` reads the bundled Quảng Trị profile; `check_profile` validates a
profile against a registry so a typo in a unit id fails before any file is written.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tthc_monitor.reference.registry import Registry, bundled_path
from tthc_monitor.report.docx_spec import DocumentSpec
from tthc_monitor.report.rates import Rounding

__all__ = [
    "AppendixSpec",
    "FixedRowsTable",
    "GroupSpec",
    "LandDistrict",
    "LandPoint",
    "LandTable",
    "NarrativeSpec",
    "ProfileError",
    "RateSpec",
    "ReportProfile",
    "RowSpec",
    "SectorTable",
    "UnitTable",
    "check_profile",
    "load_profile",
]

BUNDLED_PROFILE = "quangtri/report_profile.json"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProfileError(ValueError):
    """A report profile that cannot be read or does not fit the registry."""


class RateSpec(_Model):
    """How a rate column is printed: decimals, rounding, and whether trailing zeros stay.

    `style = "fixed"` prints every decimal (`92.00`, as Phụ lục 1); `"trim"` drops trailing
    zeros (`100`, `87,1`, as Phụ lục 2, 05 and 06).
    """

    places: Annotated[int, Field(ge=0, le=6)] = 2
    rounding: Rounding = Rounding.HALF_UP
    style: Literal["fixed", "trim"] = "fixed"


class GroupSpec(_Model):
    """A section row (I, II, III): the registry's `report_group` value and its printed title."""

    id: Annotated[str, Field(min_length=1)]
    title: str


class RowSpec(_Model):
    """One fixed row: a registry unit and, when it differs from the registry, its printed name."""

    unit_id: str
    name: str | None = None


class _TableBase(_Model):
    subtitle: str | None = None  # "1. Số hóa thành phần hồ sơ"
    total_label: str = "Tổng số"
    notes: tuple[str, ...] = ()


class UnitTable(_TableBase):
    """Phụ lục 1, 2a, 2b, 3: the registry's top-level units under their section groups.

    `order`: `rate_desc` sorts each group by the table's rate, highest first, ties by
    `report_order`; `report_order` keeps the registry order. `hide_when_zero` lists units
    the seed leaves out of this table; they are left out only while every figure of theirs
    in the table is zero, so no dossier can drop out of a total. `names` overrides the
    printed name of a unit (unit_id -> name).
    """

    order: Literal["rate_desc", "report_order"] = "report_order"
    hide_when_zero: tuple[str, ...] = ()
    names: dict[str, str] = Field(default_factory=dict)
    rate: RateSpec = RateSpec()
    stt_suffix: str = ""


class FixedRowsTable(_TableBase):
    """Phụ lục 05, 06 part 2 and part 3: a fixed list of units in a fixed order."""

    rows: tuple[RowSpec, ...]
    rate: RateSpec = RateSpec()
    procedure_rate: RateSpec = RateSpec(places=1)


class LandPoint(_Model):
    """A receiving point of Phụ lục 4: the registry units of this `kind` in the district."""

    kind: str
    name: str


class LandDistrict(_Model):
    district: str
    name: str
    points: tuple[LandPoint, ...]


class LandTable(_TableBase):
    """Phụ lục 4: districts in print order, each with its receiving points."""

    districts: tuple[LandDistrict, ...]
    district_total_label: str = "Tổng"


class SectorTable(_TableBase):
    """Phụ lục 06 part 1: catalog counts of `scope_unit`'s procedures by sector.

    `sectors` gives the printed order; a sector with fee-bearing procedures that the list
    does not name is appended after them (catalog order) rather than silently dropped.
    """

    scope_unit: str
    sectors: tuple[str, ...]
    rate: RateSpec = RateSpec(places=1)


class AppendixSpec(_Model):
    """One appendix (one sheet): its label, title and the tables it holds, in print order."""

    id: str
    label: str  # "Phụ lục 1"
    sheet: Annotated[str, Field(min_length=1, max_length=31)]
    title: str
    period: Literal["month", "land"] = "month"
    tables: tuple[str, ...]


class NarrativeSpec(_Model):
    """What the narrative names: the `top` best and worst units by a rate, among units
    whose denominator is at least `min_denominator` (a unit with 1 dossier at 0% is noise)."""

    top: Annotated[int, Field(ge=1, le=10)] = 3
    min_denominator: Annotated[int, Field(ge=1)] = 100


class ReportProfile(_Model):
    profile_version: Literal[1] = 1
    province: str
    issuer: str
    groups: tuple[GroupSpec, ...]
    appendices: tuple[AppendixSpec, ...]
    pl1: UnitTable
    pl2a: UnitTable
    pl2b: UnitTable
    pl3: UnitTable
    pl4: LandTable
    pl5: FixedRowsTable
    pl6a: SectorTable
    pl6b: FixedRowsTable
    pl6c: FixedRowsTable
    narrative: NarrativeSpec = NarrativeSpec()
    document: DocumentSpec | None = None  # the signed report's heading (docx_spec.py)


TABLE_IDS = ("pl1", "pl2a", "pl2b", "pl3", "pl4", "pl5", "pl6a", "pl6b", "pl6c")


def load_profile(path: Path | None = None) -> ReportProfile:
    """Read a profile JSON file; `None` reads the bundled Quảng Trị profile."""
    source = Path(path) if path is not None else bundled_path(BUNDLED_PROFILE)
    try:
        raw = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProfileError(f"{source}: cannot read report profile: {exc}") from exc
    try:
        profile = ReportProfile.model_validate(raw)
    except ValidationError as exc:
        raise ProfileError(f"{source}: invalid report profile:\n{exc}") from exc
    tables = [t for a in profile.appendices for t in a.tables]
    unknown = sorted(set(tables) - set(TABLE_IDS))
    if unknown or len(tables) != len(set(tables)):
        raise ProfileError(
            f"{source}: appendices must list each table once from {TABLE_IDS}; "
            f"unknown {unknown}, listed {tables}"
        )
    return profile


def check_profile(profile: ReportProfile, registry: Registry) -> list[str]:
    """Problems between a profile and a registry (unknown units, groups without a title)."""
    problems: list[str] = []
    group_ids = {g.id for g in profile.groups}
    for unit_id in registry.top_level():
        group = registry.unit(unit_id).report_group
        if group not in group_ids:
            problems.append(f"unit {unit_id!r}: report group {group!r} has no title")
    for name in ("pl1", "pl2a", "pl2b", "pl3"):
        table: UnitTable = getattr(profile, name)
        for unit_id in (*table.hide_when_zero, *table.names):
            if unit_id not in registry.units:
                problems.append(f"{name}: unknown unit_id {unit_id!r}")
    for name in ("pl5", "pl6b", "pl6c"):
        fixed: FixedRowsTable = getattr(profile, name)
        for row in fixed.rows:
            if row.unit_id not in registry.units:
                problems.append(f"{name}: unknown unit_id {row.unit_id!r}")
    if profile.pl6a.scope_unit not in registry.units:
        problems.append(f"pl6a: unknown scope_unit {profile.pl6a.scope_unit!r}")
    districts = {u.district for u in registry.units.values() if u.district}
    for district in profile.pl4.districts:
        if district.district not in districts:
            problems.append(f"pl4: no unit of the registry is in district {district.district!r}")
    return problems
