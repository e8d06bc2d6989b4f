"""The layout reproduces the seed report's appendices from the seed, inverted into snapshots.

Every cell of every seed CSV is compared with the laid-out table, except the cells listed
in `SEED_EXCEPTIONS`: places where the seed's own numbers disagree with each other (a total
that is not the sum of its rows, a rate rounded differently from the rest of its table)
or where the monitor deliberately prints differently. The list is exhaustive in both
directions: a new mismatch fails, and so does an exception that no longer occurs.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from tests.fixtures.seed_snapshot import seed_rows, seed_snapshots
from tthc_monitor.reference.registry import Registry
from tthc_monitor.report.layout import build_report
from tthc_monitor.report.model import Count, Rate, Report, Table, Text
from tthc_monitor.report.profile import ReportProfile, load_profile
from tthc_monitor.report.xlsx import heading_grid


@dataclass(frozen=True)
class SeedException:
    """A seed cell the layout does not reproduce: where, both values, and why."""

    csv: str
    row: str  # unit / sector printed name, "district / receiving point" (PL4), or "total"
    column: str
    printed: str  # the seed CSV cell ("" = not printed)
    computed: str  # our value, in the seed CSV's notation (rates: decimal point)
    reason: str


PL1 = "appendix1_online_reception.csv"
PL2B = "appendix2b_result_digitization.csv"
PL3 = "appendix3_resolution.csv"
PL4 = "appendix4_land_interagency.csv"
PL5 = "appendix5_fees_departments.csv"
PL6C = "appendix6c_land_obligation_payments.csv"

_PL1_GAP = (
    "printed total row exceeds the sum of the 33 printed rows (CHECKS.md PL1 (a)); the same "
    "gaps as Phụ lục 3, as if an unprinted row were counted; totals are computed as sums"
)
_PL3_GAP = (
    "printed total row exceeds the sum of the 32 printed rows (CHECKS.md PL3 (a)); the gaps "
    "are consistent with one unprinted row (67 = 0 + 20 + 0 + 47; 41 = 28 + 9 + 4); totals "
    "are computed as sums"
)
_PL3_UNPRINTED = "the seed's total row leaves columns (12)-(15) empty; the monitor prints the sum"
_PL2B_SPLIT = (
    "the total row splits the resolved dossiers 3 differently from the rows (7324 + 32237 vs "
    "7327 + 32234, CHECKS.md PL2b (a)); totals are computed as sums"
)
_PL6C_COPY = (
    "the printed total (6971 / 6 / 14) is Phụ lục 05's Sở TN&MT row, not the sum of the 9 "
    "branches (6952 / 6 / 10); totals are computed as sums"
)
_PL05_HALF_UP = (
    "33/64 = 51.5625: the seed rounds half-up here but truncates in every other cell of "
    "PL05-PL06 that tells the two apart (14 cells, CHECKS.md 'Rounding of printed rates'); "
    "one rule, truncation, is applied throughout PL05-PL06"
)

SEED_EXCEPTIONS: tuple[SeedException, ...] = (
    # Phụ lục 1
    SeedException(
        PL1,
        "Công an tỉnh",
        "group",
        "I",
        "II",
        "section: the registry puts Công an tỉnh in group II, as Phụ lục 2 and 3 print it; "
        "only Phụ lục 1 prints it under I (docs/reference-data.md)",
    ),
    SeedException(
        PL1,
        "Công an tỉnh",
        "stt",
        "20",
        "21",
        "follows from its group: under II it sorts after Bảo hiểm xã hội tỉnh (100,00%)",
    ),
    SeedException(
        PL1,
        "Bảo hiểm xã hội tỉnh",
        "stt",
        "21",
        "20",
        "follows from Công an tỉnh moving to group II: BHXH becomes the first row of II",
    ),
    SeedException(
        PL1,
        "UBND huyện đảo Cồn Cỏ",
        "online_rate_pct_printed",
        "0",
        "0,00",
        "0/0 printed '0' where every other Phụ lục 1 rate, the other 0/0 rows included, "
        "prints two decimals ('0.00')",
    ),
    SeedException(PL1, "total", "total", "67918", "67851", _PL1_GAP),
    SeedException(PL1, "total", "carried_over", "18047", "18027", _PL1_GAP),
    SeedException(
        PL1,
        "total",
        "online_rate_pct",
        "",
        "16.02",
        "the seed prints no rate on the total row; the monitor prints 10867/67851",
    ),
    SeedException(
        PL1,
        "total",
        "online_rate_pct_printed",
        "",
        "16,02",
        "the seed prints no rate on the total row; the monitor prints 10867/67851",
    ),
    # Phụ lục 2 part 2
    SeedException(PL2B, "total", "results_digitized", "7324", "7327", _PL2B_SPLIT),
    SeedException(PL2B, "total", "not_digitized", "32237", "32234", _PL2B_SPLIT),
    SeedException(
        PL2B,
        "total",
        "rate_pct",
        "18.51",
        "18.52",
        "the printed rate is 7324/39561 from the printed total; the rows give 7327/39561 = 18.5205",
    ),
    SeedException(
        PL2B,
        "total",
        "rate_pct_printed",
        "18.51",
        "18,52",
        "the printed rate is 7324/39561 from the printed total; the rows give 7327/39561 = 18.5205",
    ),
    # Phụ lục 3
    SeedException(PL3, "total", "total", "67918", "67851", _PL3_GAP),
    SeedException(PL3, "total", "carried_over", "18047", "18027", _PL3_GAP),
    SeedException(PL3, "total", "received_interagency", "7219", "7172", _PL3_GAP),
    SeedException(PL3, "total", "resolved", "43179", "43138", _PL3_GAP),
    SeedException(PL3, "total", "resolved_early", "37194", "37166", _PL3_GAP),
    SeedException(PL3, "total", "resolved_on_time", "2158", "2149", _PL3_GAP),
    SeedException(PL3, "total", "resolved_late", "3827", "3823", _PL3_GAP),
    SeedException(PL3, "total", "late_as_initial", "", "3535", _PL3_UNPRINTED),
    SeedException(PL3, "total", "apologized", "", "4", _PL3_UNPRINTED),
    SeedException(PL3, "total", "late_as_interagency", "", "321", _PL3_UNPRINTED),
    SeedException(PL3, "total", "extended", "", "0", _PL3_UNPRINTED),
    # Phụ lục 4
    SeedException(
        PL4,
        "Huyện Hướng Hóa / Một cửa Huyện",
        "late_at_tax",
        "",
        "0",
        "the printed row has 13 of 14 values; the missing one is a zero among columns "
        "(9)-(14) and was left empty in (14) by the extraction; the district's 'Tổng' row "
        "and the column sums confirm 0",
    ),
    # Phụ lục 05
    SeedException(
        PL5, "Sở TN&MT", "online_payment_procedure_rate_pct", "51.6", "51.5", _PL05_HALF_UP
    ),
    SeedException(
        PL5, "Sở TN&MT", "online_payment_procedure_rate_pct_printed", "51,6", "51,5", _PL05_HALF_UP
    ),
    SeedException(
        PL5,
        "Sở GTVT",
        "online_payment_rate_pct_printed",
        "0,70",
        "0,7",
        "3/424 = 0.7075 truncates to 0.70 (same value); PL05-PL06 print rates without "
        "trailing zeros everywhere else ('0,1', '37', '100'), and one display rule is applied",
    ),
    SeedException(
        PL5,
        "total",
        "fee_dossiers",
        "8541",
        "8542",
        "the 17 printed rows sum to 8542 (CHECKS.md PL05 (a)); totals are computed as sums",
    ),
    # Phụ lục 06 part 3
    SeedException(PL6C, "total", "fee_dossiers", "6971", "6952", _PL6C_COPY),
    SeedException(PL6C, "total", "fee_recorded_one_stop", "14", "10", _PL6C_COPY),
)


# --------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def profile() -> ReportProfile:
    return load_profile()


@pytest.fixture(scope="module")
def report(registry: Registry, profile: ReportProfile) -> Report:
    month, land = seed_snapshots(registry, profile)
    return build_report(month, land, registry, profile)


def _row_key(table_id: str, record: dict[str, Any]) -> str:
    if table_id == "pl4":
        if record["district_no"] == "total":
            return "total"
        return f"{record['district']} / {record['receiving_point']}"
    if record.get("stt") == "total":
        return "total"
    return str(record.get("unit_name") or record.get("sector"))


def laid_out(table: Table) -> dict[str, dict[str, Any]]:
    """The table's rows in the seed CSV's notation, by row key."""
    out: dict[str, dict[str, Any]] = {}
    for row in table.rows:
        if row.kind == "section":
            continue
        record: dict[str, Any] = {}
        if table.grouped:
            record["group"] = row.group
        for column, cell in zip(table.columns, row.cells, strict=True):
            if column.kind == "stt":
                record[column.key] = row.number
            elif isinstance(cell, Text):
                record[column.key] = cell.text
            elif isinstance(cell, Count):
                record[column.key] = str(cell.value)
            elif isinstance(cell, Rate):
                record[column.key] = cell.shown
                record[f"{column.key}_printed"] = cell.text
        out[_row_key(table.id, record)] = record
    return out


def mismatches(report: Report) -> list[tuple[str, str, str, str, str]]:
    found: list[tuple[str, str, str, str, str]] = []
    for table in report.tables.values():
        ours = laid_out(table)
        seed = {_row_key(table.id, row): row for row in seed_rows(table.csv_name)}
        assert set(seed) == set(ours), table.csv_name
        for key, seed_row in seed.items():
            for column, printed in seed_row.items():
                value = ours[key][column]
                if column.endswith("_printed"):
                    # The seed mixes '.' and ',' as decimal separator; Vietnamese is ','.
                    same = printed.replace(".", ",") == value
                    computed = str(value)
                elif isinstance(value, Decimal):
                    same = printed != "" and Decimal(printed) == value
                    computed = str(value)
                else:
                    same = printed == value
                    computed = str(value)
                if not same:
                    found.append((table.csv_name, key, column, printed, computed))
    return found


# --------------------------------------------------------------------------- tests


def test_every_seed_cell_is_reproduced_or_explained(report: Report) -> None:
    expected = {(e.csv, e.row, e.column, e.printed, e.computed) for e in SEED_EXCEPTIONS}
    found = set(mismatches(report))
    assert found - expected == set(), "seed cells not reproduced and not explained"
    assert expected - found == set(), "explained exceptions that no longer occur"
    assert len(SEED_EXCEPTIONS) == len(expected)  # no duplicate entry
    assert all(e.reason for e in SEED_EXCEPTIONS)


def test_row_order_follows_the_seed(report: Report) -> None:
    for table in report.tables.values():
        ours = [k for k in laid_out(table) if k != "total"]
        seed = [_row_key(table.id, r) for r in seed_rows(table.csv_name)]
        seed = [k for k in seed if k != "total"]
        if table.id == "pl1":
            # Công an tỉnh (0,00%) leaves the end of group I for group II, after BHXH (100%).
            seed.remove("Công an tỉnh")
            seed.insert(seed.index("Bảo hiểm xã hội tỉnh") + 1, "Công an tỉnh")
        assert ours == seed, table.id


def test_section_rows(report: Report) -> None:
    for table_id in ("pl1", "pl2a", "pl2b", "pl3"):
        sections = [r for r in report.table(table_id).rows if r.kind == "section"]
        assert [r.number for r in sections] == ["I", "II", "III"]
        titles = [c.text for r in sections for c in r.cells[1:2] if isinstance(c, Text)]
        assert titles == [
            "Các cơ quan chuyên môn thuộc UBND tỉnh",
            "Các cơ quan Trung ương đóng trên địa bàn tỉnh",
            "UBND các huyện, thành phố, thị xã",
        ]
    stt = report.table("pl1").unit_rows[0].cells[0]
    assert stt == Text("1.")  # Phụ lục 1-3 print "1.", Phụ lục 05/06 "1"
    assert report.table("pl5").unit_rows[0].cells[0] == Text("1")


def test_total_labels(report: Report) -> None:
    labels = {}
    for table in report.tables.values():
        texts = [c.text for c in table.total_row.cells if isinstance(c, Text) and c.text]
        labels[table.id] = texts
    assert labels == {
        "pl1": ["Tổng số"],
        "pl2a": ["Tổng số"],
        "pl2b": ["Tổng số"],
        "pl3": ["Tổng số"],
        "pl4": ["Tổng"],
        "pl5": ["Tổng cộng"],
        "pl6a": ["Tổng cộng"],
        "pl6b": ["Tổng cộng"],
        "pl6c": ["Tổng cộng"],
    }


EXPECTED_HEADINGS = {
    "pl1": [
        ("STT", "(1)"),
        ("Đơn vị (Cơ quan)", "(2)"),
        ("Số hồ sơ nhận giải quyết / Tổng số", "(3)"),
        ("Số hồ sơ nhận giải quyết / Trong đó / Số mới tiếp nhận trực tuyến", "(4)"),
        ("Số hồ sơ nhận giải quyết / Trong đó / Số kỳ trước chuyển qua", "(5)"),
        (
            "Số hồ sơ nhận giải quyết / Trong đó / Số mới tiếp nhận (trực tiếp hoặc dịch vụ "
            "bưu chính)",
            "(6)",
        ),
        ("Số hồ sơ nhận giải quyết / Tỷ lệ hồ sơ tiếp nhận trực tuyến", "(7)"),
    ],
    "pl2b": [
        ("STT", "(1)"),
        ("Đơn vị (Cơ quan)", "(2)"),
        ("Số hoá kết quả giải quyết TTHC / Số hồ sơ đã giải quyết", "(3)"),
        ("Số hoá kết quả giải quyết TTHC / Số hồ sơ có số hoá kết quả", "(4)"),
        ("Số hoá kết quả giải quyết TTHC / Tỷ lệ số hoá kết quả hồ sơ", "(5)"),
        ("Số hoá kết quả giải quyết TTHC / Số hồ sơ chưa số hoá kết quả TTHC", "(6)"),
    ],
    "pl5": [
        ("Stt", ""),
        ("Đơn vị", ""),
        ("Tổng số hồ sơ có thu phí, lệ phí trên thực tế", "A"),
        ("Tổng số hồ sơ thanh toán trực tuyến qua Cổng DVC QG", "B"),
        ("Tổng số hồ sơ có thực hiện thu phí, lệ phí trên MCĐT", "C"),
        ("Tỷ lệ giao dịch thanh toán trực tuyến trên cổng DVC QG (%)", "D=B/A*100"),
        ("Tổng số TTHC có phí, lệ phí (Mức độ 1,2,3,4)", "E"),
        ("Tổng số TTHC đã triển khai thanh toán trực tuyến (Mức độ 4 có phí, lệ phí)", "F"),
        ("Tỷ lệ TTHC được triển khai thanh toán trực tuyến (%)", "G=F/E*100"),
    ],
}


def test_headings(report: Report) -> None:
    for table_id, expected in EXPECTED_HEADINGS.items():
        columns = report.table(table_id).columns
        assert [(" / ".join(c.heading), c.number) for c in columns] == expected
    # Column numbers (1)..(n) in Phụ lục 1-4, as printed.
    for table_id in ("pl1", "pl2a", "pl2b", "pl3", "pl4"):
        numbers = [c.number for c in report.table(table_id).columns]
        assert numbers == [f"({i})" for i in range(1, len(numbers) + 1)]
    # Every table's columns match its seed CSV's columns (rates: value + printed).
    for table in report.tables.values():
        header = list(seed_rows(table.csv_name)[0])
        keys = [c.key for c in table.columns]
        assert [h for h in header if not h.endswith("_printed") and h != "group"] == keys


def test_grouped_headings_merge_like_the_seed(report: Report) -> None:
    depth, cells = heading_grid(report.table("pl3").columns)
    assert depth == 3
    spans = {(c.text, c.row, c.col): (c.rowspan, c.colspan) for c in cells}
    assert spans[("STT", 0, 0)] == (3, 1)
    assert spans[("Số hồ sơ nhận giải quyết", 0, 2)] == (1, 5)
    assert spans[("Tổng số", 1, 2)] == (2, 1)
    assert spans[("Trong đó", 1, 3)] == (1, 4)
    assert spans[("Tiếp nhận liên thông", 2, 6)] == (1, 1)
    assert spans[("Số hồ sơ đã giải quyết", 0, 7)] == (1, 4)
    assert spans[("Đơn vị tiếp nhận ban đầu", 0, 11)] == (1, 2)
    assert spans[("Làm trễ hạn", 1, 13)] == (2, 1)
    depth, cells = heading_grid(report.table("pl4").columns)
    spans = {(c.text, c.row, c.col): (c.rowspan, c.colspan) for c in cells}
    assert depth == 2
    assert spans[("Đã giải quyết", 0, 6)] == (1, 8)
    assert spans[("Đang giải quyết", 0, 14)] == (1, 3)
    assert spans[("Tổng tiếp nhận", 0, 3)] == (2, 1)


def test_totals_are_sums_of_rows(report: Report) -> None:
    for table in report.tables.values():
        for column in table.columns:
            if column.kind != "count":
                continue
            rows = [r for r in table.rows if r.kind == "unit"]
            total = sum(table.count(r, column.key) for r in rows)
            assert table.count(table.total_row, column.key) == total, (table.id, column.key)


def test_pl4_district_totals_are_sums_of_their_points(report: Report) -> None:
    table = report.table("pl4")
    for subtotal in (r for r in table.rows if r.kind == "subtotal"):
        points = [r for r in table.unit_rows if r.number == subtotal.number]
        assert len(points) == 3
        for column in table.columns:
            if column.kind == "count":
                assert table.count(subtotal, column.key) == sum(
                    table.count(p, column.key) for p in points
                )


def test_hidden_unit_reappears_when_it_has_figures(
    registry: Registry, profile: ReportProfile
) -> None:
    month, land = seed_snapshots(registry, profile)
    kho_bac = next(u for u in month["units"] if u["unit_id"] == "kho-bac-nha-nuoc")
    kho_bac["resolved_on_time"] = 5
    report = build_report(month, land, registry, profile)
    names = [
        c.text for r in report.table("pl3").unit_rows for c in r.cells[1:2] if isinstance(c, Text)
    ]
    assert "Kho bạc Nhà nước" in names
    assert report.table("pl3").count(report.table("pl3").total_row, "resolved_on_time") == 2154
    names_2b = [
        c.text for r in report.table("pl2b").unit_rows for c in r.cells[1:2] if isinstance(c, Text)
    ]
    assert "Kho bạc Nhà nước" not in names_2b  # its digitization figures are still all zero
