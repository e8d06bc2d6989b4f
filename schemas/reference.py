"""Reference tables: the unit registry, the procedure catalog, calendar adjustments."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

# I departments, II central agencies in the province, III district committees (until
# 30 June 2025), IV commune-level units (from 1 July 2025, when districts were abolished).
ReportGroup = Literal["I", "II", "III", "IV", ""]


class Unit(BaseModel):
    """One unit (cơ quan, đơn vị) of the registry, as printed in reports."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    unit_id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]*$")]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    parent_id: str | None = None
    level: Literal["province", "district", "commune", "central"]
    kind: Annotated[str, Field(min_length=1, max_length=64)]
    district: str | None = None
    report_group: ReportGroup = ""
    report_order: Annotated[int, Field(ge=0)] = 0
    # Registry versions (docs/reference-data.md, "Units that start, end and merge"): the
    # unit is in force from 00:00 local time of `valid_from` to 00:00 of `valid_to`
    # (None: unbounded); at `valid_to` its open work passes to `successor_id`, if any.
    valid_from: date | None = None
    valid_to: date | None = None
    successor_id: str | None = None


class Procedure(BaseModel):
    """One administrative procedure (TTHC) of the catalog."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    procedure_id: Annotated[str, Field(min_length=1, max_length=64)]
    name: Annotated[str, Field(min_length=1, max_length=500)]
    sector: Annotated[str, Field(min_length=1, max_length=100)]
    unit_id: Annotated[str, Field(min_length=1, max_length=64)]
    processing_days: Annotated[int, Field(ge=0)]
    has_fee: bool
    online_payment: bool
    digitize_components: bool
    digitize_results: bool


class CalendarAdjustment(BaseModel):
    """A government-announced extra day off, or a compensatory working day."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    date: date
    kind: Literal["off", "work"]
    note: str = ""
