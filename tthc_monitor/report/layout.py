"""The appendices of the monthly report as typed tables, from snapshots (pure: no I/O).

`build_report(period_snapshot, land_snapshot, registry, profile)` lays out Phụ lục 1–6 as
rows of typed cells: counts stay integers and rates keep their numerator and denominator,
so every writer (xlsx, CSV, Markdown) formats the same values and a total row is always
the sum of the rows printed above it, never a copied figure. Which units appear, under
which name and in which order comes from the profile (`profile.py`); the columns, their
headings and the arithmetic of each appendix are here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any, Literal

from tthc_monitor.reference.registry import Registry
from tthc_monitor.report.profile import (
    FixedRowsTable,
    LandTable,
    RateSpec,
    ReportProfile,
    SectorTable,
    UnitTable,
)
from tthc_monitor.report.rates import percent
from tthc_monitor.report.vnformat import format_date_long, format_decimal

__all__ = [
    "Appendix",
    "Cell",
    "Column",
    "Count",
    "Rate",
    "Report",
    "ReportError",
    "Row",
    "Table",
    "Text",
    "build_report",
]


class ReportError(ValueError):
    """Snapshots that cannot be laid out (a unit missing, a malformed figure)."""


# --------------------------------------------------------------------------- cells


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Count:
    value: int


@dataclass(frozen=True)
class Rate:
    """A percentage kept as its two counts; rounded only when read."""

    numerator: int
    denominator: int
    spec: RateSpec

    @property
    def value(self) -> Decimal | None:
        """Rounded per the spec; `None` for a zero denominator (machine-readable output)."""
        return percent(self.numerator, self.denominator, self.spec.places, self.spec.rounding)

    @property
    def shown(self) -> Decimal:
        """The value printed: a zero denominator prints as 0 (the seed's habit)."""
        value = self.value
        return value if value is not None else Decimal(0).scaleb(-self.spec.places)

    @property
    def text(self) -> str:
        """Vietnamese text as printed in the appendix: `99,20`, `87,1`, `100`."""
        return format_decimal(self.shown, trim=self.spec.style == "trim")


Cell = Text | Count | Rate | None


# --------------------------------------------------------------------------- tables


ColumnKind = Literal["stt", "label", "count", "rate"]
RowKind = Literal["section", "unit", "subtotal", "total"]


@dataclass(frozen=True)
class Column:
    """One printed column. `heading` is the path of headings above it, outermost first
    (a grouped heading such as "Trong đó" is shared by the columns that start with it);
    `number` is the printed column number or letter, `(4)` or `B`."""

    key: str
    heading: tuple[str, ...]
    kind: ColumnKind
    number: str = ""
    rate_of: tuple[str, str] | None = None  # (numerator key, denominator key)
    rate_spec: RateSpec | None = None  # rounding of a rate column (per table, from the profile)
    width: float = 12.0


@dataclass(frozen=True)
class Row:
    """`number` is the machine-readable STT (`"3"`, `"I"`, `"total"`); `cells` follow the
    table's columns."""

    kind: RowKind
    number: str
    cells: tuple[Cell, ...]
    group: str = ""
    unit_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Table:
    id: str
    csv_name: str
    subtitle: str | None
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    notes: tuple[str, ...] = ()
    merge_columns: tuple[str, ...] = ()  # printed once per run of equal values (PL4 district)
    grouped: bool = False  # rows sit under section rows I/II/III

    def index(self, key: str) -> int:
        for i, column in enumerate(self.columns):
            if column.key == key:
                return i
        raise KeyError(f"table {self.id} has no column {key!r}")

    def cell(self, row: Row, key: str) -> Cell:
        return row.cells[self.index(key)]

    def count(self, row: Row, key: str) -> int:
        cell = self.cell(row, key)
        if not isinstance(cell, Count):
            raise TypeError(f"table {self.id} column {key!r} is not a count")
        return cell.value

    def rate(self, row: Row, key: str) -> Rate:
        cell = self.cell(row, key)
        if not isinstance(cell, Rate):
            raise TypeError(f"table {self.id} column {key!r} is not a rate")
        return cell

    @property
    def unit_rows(self) -> tuple[Row, ...]:
        return tuple(r for r in self.rows if r.kind == "unit")

    @property
    def total_row(self) -> Row:
        return next(r for r in self.rows if r.kind == "total")


@dataclass(frozen=True)
class Appendix:
    id: str
    label: str
    sheet: str
    title: str
    period_text: str  # "(Từ ngày 15 tháng 3 năm 2022 đến ngày 14 tháng 4 năm 2022)"
    tables: tuple[Table, ...]


@dataclass(frozen=True)
class Period:
    name: str
    months: int
    first_day: date
    last_day: date  # inclusive

    @property
    def text(self) -> str:
        return f"(Từ {format_date_long(self.first_day)} đến {format_date_long(self.last_day)})"


@dataclass(frozen=True)
class Report:
    province: str
    issuer: str
    period: Period
    land_period: Period
    as_of: str
    version: str | None
    appendices: tuple[Appendix, ...]
    tables: Mapping[str, Table] = field(default_factory=dict)

    def table(self, table_id: str) -> Table:
        return self.tables[table_id]


# --------------------------------------------------------------------------- snapshots


def _period(snapshot: Mapping[str, Any]) -> Period:
    try:
        start = datetime.fromisoformat(str(snapshot["start"]))
        end = datetime.fromisoformat(str(snapshot["end"]))
        name = str(snapshot["period"])
        months = int(snapshot.get("months", 1))
    except (KeyError, ValueError) as exc:
        raise ReportError(f"snapshot without a valid period/start/end: {exc}") from exc
    # `end` is exclusive (midnight after the last day): the last day printed is the day before.
    return Period(name, months, start.date(), (end - timedelta(microseconds=1)).date())


Figures = Mapping[str, Any]


def _units(snapshot: Mapping[str, Any]) -> dict[str, Figures]:
    units = snapshot.get("units")
    if not isinstance(units, list):
        raise ReportError("snapshot has no 'units' list")
    return {str(u["unit_id"]): u for u in units}


def _int(entry: Figures, *path: str) -> int:
    value: Any = entry
    for part in path:
        value = value.get(part, 0) if isinstance(value, Mapping) else 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise ReportError(f"unit {entry.get('unit_id')!r}: {'.'.join(path)} is not an integer")
    return value


# --------------------------------------------------------------------------- generic rows

Values = Mapping[str, int]


def _cells(columns: Sequence[Column], labels: Mapping[str, str], values: Values) -> list[Cell]:
    cells: list[Cell] = []
    for column in columns:
        if column.kind in ("stt", "label"):
            cells.append(Text(labels.get(column.key, "")))
        elif column.kind == "count":
            cells.append(Count(values[column.key]))
        else:
            assert column.rate_of is not None and column.rate_spec is not None
            numerator, denominator = column.rate_of
            cells.append(Rate(values[numerator], values[denominator], column.rate_spec))
    return cells


def _sum(rows: Iterable[Values], keys: Iterable[str]) -> dict[str, int]:
    keys = tuple(keys)
    total = dict.fromkeys(keys, 0)
    for values in rows:
        for key in keys:
            total[key] += values[key]
    return total


def _count_keys(columns: Sequence[Column]) -> tuple[str, ...]:
    return tuple(c.key for c in columns if c.kind == "count")


# --------------------------------------------------------------------------- column sets

_STT = Column("stt", ("STT",), "stt", "(1)", width=6)
_UNIT = Column("unit_name", ("Đơn vị (Cơ quan)",), "label", "(2)", width=36)
_RECEIVED = "Số hồ sơ nhận giải quyết"
_OF_WHICH = "Trong đó"
# Columns (3)-(5), printed alike in Phụ lục 1 and 3.
_RECEPTION = (
    Column("total", (_RECEIVED, "Tổng số"), "count", "(3)"),
    Column(
        "received_online", (_RECEIVED, _OF_WHICH, "Số mới tiếp nhận trực tuyến"), "count", "(4)"
    ),
    Column("carried_over", (_RECEIVED, _OF_WHICH, "Số kỳ trước chuyển qua"), "count", "(5)"),
)


def _pl1_columns(spec: RateSpec) -> tuple[Column, ...]:
    return (
        _STT,
        _UNIT,
        *_RECEPTION,
        Column(
            "received_direct",
            (_RECEIVED, _OF_WHICH, "Số mới tiếp nhận (trực tiếp hoặc dịch vụ bưu chính)"),
            "count",
            "(6)",
            width=16,
        ),
        Column(
            "online_rate_pct",
            (_RECEIVED, "Tỷ lệ hồ sơ tiếp nhận trực tuyến"),
            "rate",
            "(7)",
            rate_of=("received_online", "total"),
            width=14,
            rate_spec=spec,
        ),
    )


def _pl1_values(entry: Figures) -> dict[str, int]:
    online = _int(entry, "received_online")
    carried = _int(entry, "carried_over")
    direct = _int(entry, "received_direct")
    interagency = _int(entry, "received_interagency")
    # Column (3) counts inter-agency receipts too (the seed's rows do; PL3 shows them in (7)).
    return {
        "total": online + carried + direct + interagency,
        "received_online": online,
        "carried_over": carried,
        "received_direct": direct,
    }


_DIG_IN = "Số hoá hồ sơ TTHC khi Tiếp nhận"
_DIG_OUT = "Số hoá kết quả giải quyết TTHC"


def _pl2a_columns(spec: RateSpec) -> tuple[Column, ...]:
    return (
        _STT,
        _UNIT,
        Column("received", (_DIG_IN, "Số hồ sơ Tiếp nhận"), "count", "(3)"),
        Column(
            "with_components_digitized",
            (_DIG_IN, "Số hồ sơ có số hoá thành phần HS"),
            "count",
            "(4)",
        ),
        Column(
            "fully_digitized", (_DIG_IN, "Số hồ sơ số hoá đầy đủ thành phần hồ sơ"), "count", "(5)"
        ),
        Column(
            "full_rate_pct",
            (_DIG_IN, "Tỷ lệ số hoá đầy đủ thành phần HS khi tiếp nhận"),
            "rate",
            "(6)",
            rate_of=("fully_digitized", "received"),
            width=14,
            rate_spec=spec,
        ),
        Column("not_digitized", (_DIG_IN, "Số hồ sơ chưa số hoá TPHS"), "count", "(7)"),
    )


def _pl2a_values(entry: Figures) -> dict[str, int]:
    received = _int(entry, "digitization", "received")
    with_components = _int(entry, "digitization", "with_components")
    return {
        "received": received,
        "with_components_digitized": with_components,
        "fully_digitized": _int(entry, "digitization", "fully"),
        "not_digitized": received - with_components,
    }


def _pl2b_columns(spec: RateSpec) -> tuple[Column, ...]:
    return (
        _STT,
        _UNIT,
        Column("resolved", (_DIG_OUT, "Số hồ sơ đã giải quyết"), "count", "(3)"),
        Column("results_digitized", (_DIG_OUT, "Số hồ sơ có số hoá kết quả"), "count", "(4)"),
        Column(
            "rate_pct",
            (_DIG_OUT, "Tỷ lệ số hoá kết quả hồ sơ"),
            "rate",
            "(5)",
            rate_of=("results_digitized", "resolved"),
            width=14,
            rate_spec=spec,
        ),
        Column(
            "not_digitized",
            (_DIG_OUT, "Số hồ sơ chưa số hoá kết quả TTHC"),
            "count",
            "(6)",
            width=14,
        ),
    )


def _pl2b_values(entry: Figures) -> dict[str, int]:
    resolved = _int(entry, "digitization", "resolved")
    results = _int(entry, "digitization", "results")
    return {"resolved": resolved, "results_digitized": results, "not_digitized": resolved - results}


_RESOLVED = "Số hồ sơ đã giải quyết"
_INITIAL = "Đơn vị tiếp nhận ban đầu"
_INTERAGENCY = "Đơn vị tiếp nhận liên thông"


def _pl3_columns(_: RateSpec) -> tuple[Column, ...]:
    return (
        _STT,
        _UNIT,
        *_RECEPTION,
        Column("received_direct", (_RECEIVED, _OF_WHICH, "Số mới tiếp nhận"), "count", "(6)"),
        Column(
            "received_interagency", (_RECEIVED, _OF_WHICH, "Tiếp nhận liên thông"), "count", "(7)"
        ),
        Column("resolved", (_RESOLVED, "Tổng số"), "count", "(8)"),
        Column("resolved_early", (_RESOLVED, "Trả trước hạn"), "count", "(9)"),
        Column("resolved_on_time", (_RESOLVED, "Trả đúng hạn"), "count", "(10)"),
        Column("resolved_late", (_RESOLVED, "Trả quá hạn"), "count", "(11)"),
        Column("late_as_initial", (_INITIAL, "Làm trễ hạn"), "count", "(12)", width=10),
        Column("apologized", (_INITIAL, "Thực hiện xin lỗi"), "count", "(13)", width=10),
        Column("late_as_interagency", (_INTERAGENCY, "Làm trễ hạn"), "count", "(14)", width=10),
        Column("extended", (_INTERAGENCY, "Thực hiện gia hạn"), "count", "(15)", width=10),
    )


def _pl3_values(entry: Figures) -> dict[str, int]:
    values = _pl1_values(entry)
    values["received_interagency"] = _int(entry, "received_interagency")
    early = _int(entry, "resolved_early")
    on_time = _int(entry, "resolved_on_time")
    late = _int(entry, "resolved_late")
    values.update(
        resolved=early + on_time + late,
        resolved_early=early,
        resolved_on_time=on_time,
        resolved_late=late,
        late_as_initial=_int(entry, "late_as_initial"),
        apologized=_int(entry, "apologized"),
        late_as_interagency=_int(entry, "late_as_interagency"),
        extended=_int(entry, "extended"),
    )
    return values


_UnitTableDef = tuple[
    str,  # csv name
    Callable[[RateSpec], tuple[Column, ...]],
    Callable[[Figures], dict[str, int]],
]
_UNIT_TABLES: dict[str, _UnitTableDef] = {
    "pl1": ("appendix1_online_reception.csv", _pl1_columns, _pl1_values),
    "pl2a": ("appendix2a_component_digitization.csv", _pl2a_columns, _pl2a_values),
    "pl2b": ("appendix2b_result_digitization.csv", _pl2b_columns, _pl2b_values),
    "pl3": ("appendix3_resolution.csv", _pl3_columns, _pl3_values),
}


# --------------------------------------------------------------------------- PL1–PL3


def _unit_table(
    table_id: str,
    config: UnitTable,
    units: Mapping[str, Figures],
    registry: Registry,
    profile: ReportProfile,
) -> Table:
    csv_name, make_columns, make_values = _UNIT_TABLES[table_id]
    columns = make_columns(config.rate)
    count_keys = _count_keys(columns)
    rate_column = next((c for c in columns if c.rate_of is not None), None)
    hidden = set(config.hide_when_zero)

    members: dict[str, list[tuple[str, dict[str, int]]]] = {g.id: [] for g in profile.groups}
    for unit_id in registry.top_level():
        values = make_values(_entry(units, unit_id))
        if unit_id in hidden and not any(values.values()):
            continue
        group_id = registry.unit(unit_id).report_group
        if group_id not in members:
            raise ReportError(f"unit {unit_id!r}: report group {group_id!r} not in the profile")
        members[group_id].append((unit_id, values))

    if config.order == "rate_desc" and rate_column is not None and rate_column.rate_of:
        numerator, denominator = rate_column.rate_of

        def by_rate(item: tuple[str, dict[str, int]]) -> tuple[Fraction, int]:
            values = item[1]
            exact = (
                Fraction(values[numerator], values[denominator])
                if values[denominator]
                else Fraction(0)  # 0/0 sorts as 0, as the seed does (Thanh tra tỉnh in PL1)
            )
            return (-exact, registry.unit(item[0]).report_order)

        # Sort by the exact rate, not the printed one: two units both printed 99,20 keep the
        # order of their true rates; equal rates fall back to report_order.
        for group_members in members.values():
            group_members.sort(key=by_rate)

    rows: list[Row] = []
    all_values: list[dict[str, int]] = []
    number = 0
    blank: tuple[Cell, ...] = (None,) * (len(columns) - 2)
    for group in profile.groups:
        if not members[group.id]:
            continue
        rows.append(Row("section", group.id, (Text(group.id), Text(group.title), *blank), group.id))
        for unit_id, values in members[group.id]:
            number += 1
            name = config.names.get(unit_id, registry.unit(unit_id).name)
            labels = {"stt": f"{number}{config.stt_suffix}", "unit_name": name}
            rows.append(
                Row(
                    "unit",
                    str(number),
                    tuple(_cells(columns, labels, values)),
                    group.id,
                    (unit_id,),
                )
            )
            all_values.append(values)
    total = _sum(all_values, count_keys)
    rows.append(
        Row("total", "total", tuple(_cells(columns, {"unit_name": config.total_label}, total)))
    )
    return Table(
        table_id, csv_name, config.subtitle, columns, tuple(rows), config.notes, grouped=True
    )


def _entry(units: Mapping[str, Figures], unit_id: str) -> Figures:
    try:
        return units[unit_id]
    except KeyError:
        raise ReportError(f"unit {unit_id!r} is not in the snapshot") from None


# --------------------------------------------------------------------------- PL4

_SOLVED = "Đã giải quyết"
_OPEN = "Đang giải quyết"
_LAND_FIELDS = {
    "received_new": ("received_new",),
    "carried_over": ("carried_over",),
    "resolved_on_time": ("resolved_on_time",),
    "resolved_late": ("resolved_late",),
    "late_at_commune": ("late_at_commune",),
    "late_at_district": ("late_at_district",),
    "late_at_natural_resources_dept": ("late_at_natural_resources",),
    "late_at_construction_dept": ("late_at_construction",),
    "late_at_tax": ("late_at_tax",),
    "in_progress_within": ("in_progress_within",),
    "in_progress_overdue": ("in_progress_overdue",),
}

_PL4_COLUMNS: tuple[Column, ...] = (
    Column("district_no", ("STT",), "stt", "(1)", width=5),
    Column(
        "district", ("Hồ sơ phát sinh trên địa bàn (Lĩnh vực đất đai)",), "label", "(2)", width=20
    ),
    Column("receiving_point", ("Đơn vị trực tiếp tiếp nhận",), "label", "(3)", width=20),
    Column("received_total", ("Tổng tiếp nhận",), "count", "(4)", width=10),
    Column("received_new", ("Tiếp nhận mới",), "count", "(5)", width=10),
    Column("carried_over", ("Tồn kỳ trước",), "count", "(6)", width=10),
    Column("resolved", (_SOLVED, "Tổng"), "count", "(7)", width=9),
    Column("resolved_on_time", (_SOLVED, "Đúng hạn"), "count", "(8)", width=9),
    Column("resolved_late", (_SOLVED, "Hồ sơ trễ hạn"), "count", "(9)", width=9),
    Column("late_at_commune", (_SOLVED, "Số lần trễ hạn tại xã"), "count", "(10)", width=9),
    Column("late_at_district", (_SOLVED, "Số lần trễ hạn tại huyện"), "count", "(11)", width=9),
    Column(
        "late_at_natural_resources_dept",
        (_SOLVED, "Số lần trễ hạn tại sở TNMT"),
        "count",
        "(12)",
        width=9,
    ),
    Column(
        "late_at_construction_dept",
        (_SOLVED, "Số lần trễ hạn tại sở Xây dựng"),
        "count",
        "(13)",
        width=9,
    ),
    Column("late_at_tax", (_SOLVED, "Số lần trễ hạn tại cơ quan Thuế"), "count", "(14)", width=9),
    Column("in_progress", (_OPEN, "Tổng"), "count", "(15)", width=9),
    Column("in_progress_within", (_OPEN, "Còn hạn"), "count", "(16)", width=9),
    Column("in_progress_overdue", (_OPEN, "Quá hạn"), "count", "(17)", width=9),
)


def _land_values(entries: Sequence[Figures]) -> dict[str, int]:
    raw = {key: sum(_int(e, "land", *path) for e in entries) for key, path in _LAND_FIELDS.items()}
    return {
        "received_total": raw["received_new"] + raw["carried_over"],
        "received_new": raw["received_new"],
        "carried_over": raw["carried_over"],
        # "Resolved" in the land appendix is on time (early included) plus late.
        "resolved": raw["resolved_on_time"] + raw["resolved_late"],
        "resolved_on_time": raw["resolved_on_time"],
        "resolved_late": raw["resolved_late"],
        "late_at_commune": raw["late_at_commune"],
        "late_at_district": raw["late_at_district"],
        "late_at_natural_resources_dept": raw["late_at_natural_resources_dept"],
        "late_at_construction_dept": raw["late_at_construction_dept"],
        "late_at_tax": raw["late_at_tax"],
        "in_progress": raw["in_progress_within"] + raw["in_progress_overdue"],
        "in_progress_within": raw["in_progress_within"],
        "in_progress_overdue": raw["in_progress_overdue"],
    }


def _point_units(registry: Registry, district: str, kind: str) -> tuple[str, ...]:
    """Units of `kind` in `district`, without those under another selected unit: snapshot
    figures are rolled up, so a child's figures are already in its parent's."""
    chosen = [
        u.unit_id for u in registry.units.values() if u.district == district and u.kind == kind
    ]
    picked = set(chosen)
    return tuple(u for u in chosen if not picked.intersection(registry.ancestors(u)))


def _land_table(config: LandTable, units: Mapping[str, Figures], registry: Registry) -> Table:
    columns = _PL4_COLUMNS
    keys = _count_keys(columns)
    rows: list[Row] = []
    points: list[dict[str, int]] = []
    for number, district in enumerate(config.districts, start=1):
        labels = {"district_no": str(number), "district": district.name}
        district_points: list[dict[str, int]] = []
        for point in district.points:
            unit_ids = _point_units(registry, district.district, point.kind)
            values = _land_values([_entry(units, u) for u in unit_ids])
            cells = _cells(columns, {**labels, "receiving_point": point.name}, values)
            rows.append(Row("unit", str(number), tuple(cells), unit_ids=unit_ids))
            district_points.append(values)
        subtotal = _sum(district_points, keys)
        cells = _cells(
            columns, {**labels, "receiving_point": config.district_total_label}, subtotal
        )
        rows.append(Row("subtotal", str(number), tuple(cells)))
        points.extend(district_points)
    total = _sum(points, keys)
    rows.append(
        Row(
            "total", "total", tuple(_cells(columns, {"receiving_point": config.total_label}, total))
        )
    )
    return Table(
        "pl4",
        "appendix4_land_interagency.csv",
        config.subtitle,
        columns,
        tuple(rows),
        config.notes,
        merge_columns=("district_no", "district"),
    )


# --------------------------------------------------------------------------- PL05, PL06

_A = "Tổng số hồ sơ có thu phí, lệ phí trên thực tế"
_B = "Tổng số hồ sơ thanh toán trực tuyến qua Cổng DVC QG"
_C = "Tổng số hồ sơ có thực hiện thu phí, lệ phí trên MCĐT"
_E = "Tổng số TTHC có phí, lệ phí (Mức độ 1,2,3,4)"
_F = "Tổng số TTHC đã triển khai thanh toán trực tuyến (Mức độ 4 có phí, lệ phí)"
_G = "Tỷ lệ TTHC được triển khai thanh toán trực tuyến (%)"


def _fee_columns(config: FixedRowsTable, with_procedures: bool) -> tuple[Column, ...]:
    name = ("Đơn vị",) if with_procedures else ("Tên cơ quan",)
    rate_heading = (
        "Tỷ lệ giao dịch thanh toán trực tuyến trên cổng DVC QG (%)"
        if with_procedures
        else "Tỷ lệ giao dịch thanh toán trực tuyến (%)"
    )
    rate_key = "online_payment_rate_pct" if with_procedures else "rate_pct"
    columns = [
        Column("stt", ("Stt",), "stt", width=5),
        Column("unit_name", name, "label", width=30 if with_procedures else 32),
        Column("fee_dossiers", (_A,), "count", "A", width=14),
        Column("paid_national_portal", (_B,), "count", "B", width=14),
        Column("fee_recorded_one_stop", (_C,), "count", "C", width=14),
        Column(
            rate_key,
            (rate_heading,),
            "rate",
            "D=B/A*100",
            rate_of=("paid_national_portal", "fee_dossiers"),
            width=14,
            rate_spec=config.rate,
        ),
    ]
    if with_procedures:
        columns += [
            Column("fee_procedures", (_E,), "count", "E", width=14),
            Column("online_payment_procedures", (_F,), "count", "F", width=16),
            Column(
                "online_payment_procedure_rate_pct",
                (_G,),
                "rate",
                "G=F/E*100",
                rate_of=("online_payment_procedures", "fee_procedures"),
                width=14,
                rate_spec=config.procedure_rate,
            ),
        ]
    return tuple(columns)


def _fee_values(entry: Figures) -> dict[str, int]:
    return {
        "fee_dossiers": _int(entry, "fees", "dossiers"),
        "paid_national_portal": _int(entry, "fees", "paid_national_portal"),
        "fee_recorded_one_stop": _int(entry, "fees", "recorded_one_stop"),
        "fee_procedures": _int(entry, "fees", "procedures"),
        "online_payment_procedures": _int(entry, "fees", "online_payment_procedures"),
    }


def _fee_table(
    table_id: str,
    csv_name: str,
    config: FixedRowsTable,
    units: Mapping[str, Figures],
    registry: Registry,
    with_procedures: bool,
) -> Table:
    columns = _fee_columns(config, with_procedures)
    keys = _count_keys(columns)
    rows: list[Row] = []
    all_values: list[dict[str, int]] = []
    for number, spec in enumerate(config.rows, start=1):
        values = _fee_values(_entry(units, spec.unit_id))
        name = spec.name or registry.unit(spec.unit_id).name
        cells = _cells(columns, {"stt": str(number), "unit_name": name}, values)
        rows.append(Row("unit", str(number), tuple(cells), unit_ids=(spec.unit_id,)))
        all_values.append(values)
    total = _sum(all_values, keys)
    rows.append(
        Row("total", "total", tuple(_cells(columns, {"unit_name": config.total_label}, total)))
    )
    return Table(table_id, csv_name, config.subtitle, columns, tuple(rows), config.notes)


def _sector_table(config: SectorTable, registry: Registry) -> Table:
    columns = (
        Column("stt", ("STT",), "stt", width=5),
        Column("sector", ("Lĩnh vực",), "label", width=30),
        Column("fee_procedures", ("Tổng số TTHC có phí, lệ phí (Mức 1,2,3,4)",), "count", width=16),
        Column("online_payment_procedures", (_F,), "count", width=18),
        Column(
            "rate_pct",
            (_G,),
            "rate",
            rate_of=("online_payment_procedures", "fee_procedures"),
            width=16,
            rate_spec=config.rate,
        ),
    )
    counts: dict[str, dict[str, int]] = {}
    for unit_id in registry.subtree(config.scope_unit):
        for procedure in registry.procedures_of(unit_id):
            bucket = counts.setdefault(
                procedure.sector, {"fee_procedures": 0, "online_payment_procedures": 0}
            )
            if procedure.has_fee:
                bucket["fee_procedures"] += 1
                bucket["online_payment_procedures"] += procedure.online_payment
    sectors = list(config.sectors)
    sectors += [s for s, c in counts.items() if s not in sectors and c["fee_procedures"]]
    zero = {"fee_procedures": 0, "online_payment_procedures": 0}
    rows: list[Row] = []
    all_values: list[dict[str, int]] = []
    for number, sector in enumerate(sectors, start=1):
        values = counts.get(sector, zero)
        cells = _cells(columns, {"stt": str(number), "sector": sector}, values)
        rows.append(Row("unit", str(number), tuple(cells)))
        all_values.append(values)
    total = _sum(all_values, _count_keys(columns))
    rows.append(
        Row("total", "total", tuple(_cells(columns, {"sector": config.total_label}, total)))
    )
    return Table(
        "pl6a",
        "appendix6a_district_fee_procedures_by_sector.csv",
        config.subtitle,
        columns,
        tuple(rows),
        config.notes,
    )


# --------------------------------------------------------------------------- report


def build_report(
    period_snapshot: Mapping[str, Any],
    land_snapshot: Mapping[str, Any],
    registry: Registry,
    profile: ReportProfile,
) -> Report:
    """Every appendix table of the monthly report, from the month's snapshot and the land
    snapshot (`months` = 3 for Quảng Trị's Phụ lục 4)."""
    month = _units(period_snapshot)
    land = _units(land_snapshot)
    tables: dict[str, Table] = {
        table_id: _unit_table(table_id, getattr(profile, table_id), month, registry, profile)
        for table_id in _UNIT_TABLES
    }
    tables["pl4"] = _land_table(profile.pl4, land, registry)
    tables["pl5"] = _fee_table(
        "pl5", "appendix5_fees_departments.csv", profile.pl5, month, registry, with_procedures=True
    )
    tables["pl6a"] = _sector_table(profile.pl6a, registry)
    tables["pl6b"] = _fee_table(
        "pl6b",
        "appendix6b_district_fee_payments.csv",
        profile.pl6b,
        month,
        registry,
        with_procedures=False,
    )
    tables["pl6c"] = _fee_table(
        "pl6c",
        "appendix6c_land_obligation_payments.csv",
        profile.pl6c,
        month,
        registry,
        with_procedures=False,
    )
    period = _period(period_snapshot)
    land_period = _period(land_snapshot)
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
