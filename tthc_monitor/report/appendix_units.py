"""Phụ lục 1, 2a, 2b and 3: columns and figures per table, one row per top-level unit."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from fractions import Fraction

from tthc_monitor.core import figures
from tthc_monitor.reference.registry import Registry
from tthc_monitor.report.model import Cell, Column, ReportError, Row, Table, Text
from tthc_monitor.report.profile import RateSpec, ReportProfile, UnitTable
from tthc_monitor.report.snapshot_figures import Figures, int_figure, unit_entry
from tthc_monitor.report.table_rows import count_column_keys, row_cells, sum_values

__all__ = ["UNIT_TABLE_IDS", "unit_table"]

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
    parts = {key: int_figure(entry, key) for key in figures.RECEIVED_PARTS}
    # Column (7) is the rate of (4) over (3): figures.online_share_of_received.
    return {
        "total": figures.received_total(parts),
        "received_online": parts["received_online"],
        "carried_over": parts["carried_over"],
        "received_direct": parts["received_direct"],
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
    received = int_figure(entry, "digitization", "received")
    with_components = int_figure(entry, "digitization", "with_components")
    return {
        "received": received,
        "with_components_digitized": with_components,
        "fully_digitized": int_figure(entry, "digitization", "fully"),
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
    resolved = int_figure(entry, "digitization", "resolved")
    results = int_figure(entry, "digitization", "results")
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
    values["received_interagency"] = int_figure(entry, "received_interagency")
    resolved = {key: int_figure(entry, key) for key in figures.RESOLVED_PARTS}
    values.update(
        resolved=figures.resolved_total(resolved),
        **resolved,
        late_as_initial=int_figure(entry, "late_as_initial"),
        apologized=int_figure(entry, "apologized"),
        late_as_interagency=int_figure(entry, "late_as_interagency"),
        extended=int_figure(entry, "extended"),
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
UNIT_TABLE_IDS: tuple[str, ...] = tuple(_UNIT_TABLES)


# --------------------------------------------------------------------------- rows


def unit_table(
    table_id: str,
    config: UnitTable,
    units: Mapping[str, Figures],
    registry: Registry,
    profile: ReportProfile,
) -> Table:
    csv_name, make_columns, make_values = _UNIT_TABLES[table_id]
    columns = make_columns(config.rate)
    count_keys = count_column_keys(columns)
    rate_column = next((c for c in columns if c.rate_of is not None), None)
    hidden = set(config.hide_when_zero)

    members: dict[str, list[tuple[str, dict[str, int]]]] = {g.id: [] for g in profile.groups}
    for unit_id in registry.top_level():
        if unit_id not in units and registry.versioned:
            continue  # not in the snapshot: out of force in the period, with no figure
        values = make_values(unit_entry(units, unit_id))
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
                    tuple(row_cells(columns, labels, values)),
                    group.id,
                    (unit_id,),
                )
            )
            all_values.append(values)
    total = sum_values(all_values, count_keys)
    rows.append(
        Row("total", "total", tuple(row_cells(columns, {"unit_name": config.total_label}, total)))
    )
    return Table(
        table_id, csv_name, config.subtitle, columns, tuple(rows), config.notes, grouped=True
    )
