"""Phụ lục 05 and 06: fee payments per listed unit, and fee-bearing procedures by sector."""

from __future__ import annotations

from collections.abc import Mapping

from tthc_monitor.reference.registry import Registry
from tthc_monitor.report.model import Column, Row, Table
from tthc_monitor.report.profile import FixedRowsTable, SectorTable
from tthc_monitor.report.snapshot_figures import Figures, int_figure, unit_entry
from tthc_monitor.report.table_rows import count_column_keys, row_cells, sum_values

__all__ = ["fee_table", "sector_table"]


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
        "fee_dossiers": int_figure(entry, "fees", "dossiers"),
        "paid_national_portal": int_figure(entry, "fees", "paid_national_portal"),
        "fee_recorded_one_stop": int_figure(entry, "fees", "recorded_one_stop"),
        "fee_procedures": int_figure(entry, "fees", "procedures"),
        "online_payment_procedures": int_figure(entry, "fees", "online_payment_procedures"),
    }


def fee_table(
    table_id: str,
    csv_name: str,
    config: FixedRowsTable,
    units: Mapping[str, Figures],
    registry: Registry,
    with_procedures: bool,
) -> Table:
    columns = _fee_columns(config, with_procedures)
    keys = count_column_keys(columns)
    rows: list[Row] = []
    all_values: list[dict[str, int]] = []
    for number, spec in enumerate(config.rows, start=1):
        values = _fee_values(unit_entry(units, spec.unit_id))
        name = spec.name or registry.unit(spec.unit_id).name
        cells = row_cells(columns, {"stt": str(number), "unit_name": name}, values)
        rows.append(Row("unit", str(number), tuple(cells), unit_ids=(spec.unit_id,)))
        all_values.append(values)
    total = sum_values(all_values, keys)
    rows.append(
        Row("total", "total", tuple(row_cells(columns, {"unit_name": config.total_label}, total)))
    )
    return Table(table_id, csv_name, config.subtitle, columns, tuple(rows), config.notes)


def sector_table(config: SectorTable, registry: Registry) -> Table:
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
        cells = row_cells(columns, {"stt": str(number), "sector": sector}, values)
        rows.append(Row("unit", str(number), tuple(cells)))
        all_values.append(values)
    total = sum_values(all_values, count_column_keys(columns))
    rows.append(
        Row("total", "total", tuple(row_cells(columns, {"sector": config.total_label}, total)))
    )
    return Table(
        "pl6a",
        "appendix6a_district_fee_procedures_by_sector.csv",
        config.subtitle,
        columns,
        tuple(rows),
        config.notes,
    )
