"""The report's files: all written, byte-identical twice over, laid out as the tables."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from openpyxl import load_workbook

from tests.fixtures.seed_snapshot import seed_rows, seed_snapshots
from tthc_monitor.reference.registry import Registry
from tthc_monitor.report import export_report, load_profile, render_report
from tthc_monitor.report.profile import ProfileError, ReportProfile

EXPECTED_FILES = [
    "appendices.xlsx",
    "appendix1_online_reception.csv",
    "appendix2a_component_digitization.csv",
    "appendix2b_result_digitization.csv",
    "appendix3_resolution.csv",
    "appendix4_land_interagency.csv",
    "appendix5_fees_departments.csv",
    "appendix6a_district_fee_procedures_by_sector.csv",
    "appendix6b_district_fee_payments.csv",
    "appendix6c_land_obligation_payments.csv",
    "appendices.md",
    "bao-cao.md",
    "bao-cao.docx",
]


@pytest.fixture(scope="module")
def profile() -> ReportProfile:
    return load_profile()


@pytest.fixture(scope="module")
def snapshots(registry: Registry, profile: ReportProfile) -> tuple[dict[str, Any], dict[str, Any]]:
    return seed_snapshots(registry, profile)


@pytest.fixture(scope="module")
def files(
    registry: Registry,
    profile: ReportProfile,
    snapshots: tuple[dict[str, Any], dict[str, Any]],
) -> dict[str, bytes]:
    return render_report(*snapshots, registry, profile)


def test_export_writes_every_file_twice_byte_identical(
    tmp_path: Path,
    registry: Registry,
    profile: ReportProfile,
    snapshots: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    first = export_report(*snapshots, registry, profile, tmp_path / "a")
    second = export_report(*snapshots, registry, profile, tmp_path / "b")
    assert [p.name for p in first] == EXPECTED_FILES
    for one, two in zip(first, second, strict=True):
        assert one.read_bytes() == two.read_bytes(), one.name


def test_office_files_carry_no_clock_time(files: dict[str, bytes]) -> None:
    for name in ("appendices.xlsx", "bao-cao.docx"):
        package = zipfile.ZipFile(io.BytesIO(files[name]))
        assert {info.date_time for info in package.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        core = package.read("docProps/core.xml").decode()
        assert "2022-04-15T17:00:00Z" in core, core  # the snapshot's as_of, in UTC


def test_csv_files_keep_the_seed_columns(files: dict[str, bytes]) -> None:
    for name in EXPECTED_FILES:
        if not name.endswith(".csv"):
            continue
        rows = list(csv.DictReader(io.StringIO(files[name].decode("utf-8"))))
        seed = seed_rows(name)
        assert list(rows[0]) == list(seed[0]), name
        assert len(rows) == len(seed), name
    pl1 = list(csv.DictReader(io.StringIO(files["appendix1_online_reception.csv"].decode())))
    thanh_tra = next(r for r in pl1 if r["unit_name"] == "Thanh tra tỉnh")
    # 0/0: null (empty) for machines, printed 0 for people.
    assert (thanh_tra["online_rate_pct"], thanh_tra["online_rate_pct_printed"]) == ("", "0,00")
    first = pl1[0]
    assert (first["stt"], first["group"], first["unit_name"]) == ("1", "I", "Sở Công thương")
    assert (first["online_rate_pct"], first["online_rate_pct_printed"]) == ("99.20", "99,20")
    assert pl1[-1]["stt"] == "total"


def test_xlsx_layout(files: dict[str, bytes]) -> None:
    book = load_workbook(io.BytesIO(files["appendices.xlsx"]))
    assert book.sheetnames == [
        "Phụ lục 1",
        "Phụ lục 2",
        "Phụ lục 3",
        "Phụ lục 4",
        "Phụ lục 05",
        "Phụ lục 06",
    ]
    ws = book["Phụ lục 1"]
    assert ws["A1"].value == "Phụ lục 1"
    assert ws["A2"].value == "TỶ LỆ HỒ SƠ TRỰC TUYẾN ĐƯỢC TIẾP NHẬN TRÊN CỔNG DỊCH VỤ CÔNG"
    assert ws["A3"].value == "(Từ ngày 15 tháng 3 năm 2022 đến ngày 14 tháng 4 năm 2022)"
    merged = {str(r) for r in ws.merged_cells.ranges}
    # Headings start on row 5: STT spans three rows, "Số hồ sơ nhận giải quyết" five columns.
    assert {"A5:A7", "B5:B7", "C5:G5", "C6:C7", "D6:F6", "G6:G7"} <= merged
    assert [ws.cell(8, c).value for c in range(1, 8)] == [f"({i})" for i in range(1, 8)]
    assert ws.freeze_panes == "C9"
    assert (ws["A9"].value, ws["B9"].value) == ("I", "Các cơ quan chuyên môn thuộc UBND tỉnh")
    assert (ws["B10"].value, ws["C10"].value, ws["G10"].value) == ("Sở Công thương", 1499, 99.2)
    assert ws["C10"].number_format == "[$-42A]#,##0"
    assert ws["G10"].number_format == "[$-42A]0.00"
    assert ws["C10"].border.left.style == "thin"
    last = ws.max_row
    assert (ws.cell(last, 2).value, ws.cell(last, 3).value) == ("Tổng số", 67851)
    assert ws.cell(last, 3).font.bold
    pl2 = book["Phụ lục 2"]
    values = [c.value for c in pl2["A"]] + [c.value for c in pl2["B"]]
    assert "1. Số hóa thành phần hồ sơ" in values
    assert "2. Số hóa kết quả giải quyết TTHC" in values
    pl4 = book["Phụ lục 4"]
    merged = {str(r) for r in pl4.merged_cells.ranges}
    # District number and name are merged over its three receiving points and 'Tổng'.
    assert "A8:A11" in merged and "B8:B11" in merged
    assert pl4["C8"].value == "Một cửa Thành phố"


def test_markdown_appendices(files: dict[str, bytes]) -> None:
    text = files["appendices.md"].decode()
    assert text.count("\n## Phụ lục") == 6
    assert "| 1. | Sở Công thương | 1.499 | 1.487 | 3 | 9 | 99,20 |" in text
    assert "|  | **Tổng số** | **67.851** |" in text
    assert "### 1. Số hóa thành phần hồ sơ" in text


def test_docx_holds_the_narrative(files: dict[str, bytes]) -> None:
    document = Document(io.BytesIO(files["bao-cao.docx"]))
    text = "\n".join(p.text for p in document.paragraphs)
    markdown = files["bao-cao.md"].decode().replace("**", "").replace("*", "")
    for paragraph in text.split("\n"):
        assert paragraph in markdown
    assert "3.823 hồ sơ quá hạn, bằng 8,9% số hồ sơ đã giải quyết (43.138)" in text
    assert document.core_properties.author == "Trung tâm Phục vụ hành chính công tỉnh Quảng Trị"


def test_profile_not_fitting_the_registry_is_refused(
    tmp_path: Path,
    registry: Registry,
    profile: ReportProfile,
    snapshots: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    rows = (*profile.pl5.rows[:-1], profile.pl5.rows[-1].model_copy(update={"unit_id": "so-x"}))
    broken = profile.model_copy(update={"pl5": profile.pl5.model_copy(update={"rows": rows})})
    with pytest.raises(ProfileError, match="so-x"):
        export_report(*snapshots, registry, broken, tmp_path)
    assert not tmp_path.joinpath("appendices.xlsx").exists()
