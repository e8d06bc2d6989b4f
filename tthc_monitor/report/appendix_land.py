"""Phụ lục 4: land inter-agency dossiers by district and receiving point, with subtotals."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from tthc_monitor.reference.registry import Registry
from tthc_monitor.report.model import Column, Row, Table
from tthc_monitor.report.profile import LandTable
from tthc_monitor.report.snapshot_figures import Figures, int_figure, unit_entry
from tthc_monitor.report.table_rows import count_column_keys, row_cells, sum_values

__all__ = ["land_table"]


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
    raw = {
        key: sum(int_figure(e, "land", *path) for e in entries)
        for key, path in _LAND_FIELDS.items()
    }
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


def land_table(config: LandTable, units: Mapping[str, Figures], registry: Registry) -> Table:
    columns = _PL4_COLUMNS
    keys = count_column_keys(columns)
    rows: list[Row] = []
    points: list[dict[str, int]] = []
    for number, district in enumerate(config.districts, start=1):
        labels = {"district_no": str(number), "district": district.name}
        district_points: list[dict[str, int]] = []
        for point in district.points:
            unit_ids = _point_units(registry, district.district, point.kind)
            values = _land_values([unit_entry(units, u) for u in unit_ids])
            cells = row_cells(columns, {**labels, "receiving_point": point.name}, values)
            rows.append(Row("unit", str(number), tuple(cells), unit_ids=unit_ids))
            district_points.append(values)
        subtotal = sum_values(district_points, keys)
        cells = row_cells(
            columns, {**labels, "receiving_point": config.district_total_label}, subtotal
        )
        rows.append(Row("subtotal", str(number), tuple(cells)))
        points.extend(district_points)
    total = sum_values(points, keys)
    rows.append(
        Row(
            "total",
            "total",
            tuple(row_cells(columns, {"receiving_point": config.total_label}, total)),
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
