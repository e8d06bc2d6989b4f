"""The report's files: all written, byte-identical twice over, laid out as the tables."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Length, Pt
from docx.table import _Cell
from openpyxl import load_workbook

from tests.fixtures.seed_snapshot import seed_rows, seed_snapshots
from tthc_monitor.reference.registry import Registry
from tthc_monitor.report import export_report, load_profile, render_report
from tthc_monitor.report.docx_heading import date_words
from tthc_monitor.report.docx_spec import DocumentSpec, document_fields, symbol_initials
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


def _docx(data: bytes) -> DocxDocument:
    return Document(io.BytesIO(data))


def _mm(length: Length | None) -> int:
    assert length is not None
    return round(float(length.mm))


def _cell_lines(cell: _Cell) -> list[str]:
    return [p.text for p in cell.paragraphs if p.text]


def test_docx_holds_the_narrative(files: dict[str, bytes]) -> None:
    document = _docx(files["bao-cao.docx"])
    paragraphs = [p.text for p in document.paragraphs if p.text]
    markdown = files["bao-cao.md"].decode().replace("**", "").replace("*", "")
    narrative = [line.lstrip("# ") for line in markdown.splitlines() if line]
    # The narrative's paragraphs, in order, after the heading and before the appendices.
    start = paragraphs.index(narrative[0])
    assert paragraphs[start : start + len(narrative)] == narrative
    text = "\n".join(paragraphs)
    assert "3.823 hồ sơ quá hạn, bằng 8,9% số hồ sơ đã giải quyết (43.138)" in text
    assert document.core_properties.author == "Trung tâm Phục vụ hành chính công tỉnh Quảng Trị"


def test_docx_page_and_fonts(files: dict[str, bytes]) -> None:
    """A4, margins within Nghị định 30's ranges, Times New Roman 13 in the body."""
    document = _docx(files["bao-cao.docx"])
    first = document.sections[0]
    assert (_mm(first.page_width), _mm(first.page_height)) == (210, 297)
    assert 20 <= _mm(first.top_margin) <= 25 and 20 <= _mm(first.bottom_margin) <= 25
    assert 30 <= _mm(first.left_margin) <= 35 and 15 <= _mm(first.right_margin) <= 20
    # Page numbers from page 2 (the first page's own header is empty).
    assert first.different_first_page_header_footer
    assert "PAGE" in first.header._element.xml and not first.first_page_header.paragraphs[0].text
    normal = document.styles["Normal"].font
    assert (normal.name, normal.size) == ("Times New Roman", Pt(13))
    body = next(p for p in document.paragraphs if p.text.startswith("Trong kỳ"))
    assert body.alignment == WD_ALIGN_PARAGRAPH.JUSTIFY
    assert {r.font.name for r in body.runs} == {"Times New Roman"}
    assert {r.font.size for r in body.runs} == {Pt(13)}


def test_docx_heading_as_nghi_dinh_30(files: dict[str, bytes]) -> None:
    document = _docx(files["bao-cao.docx"])
    heading = document.tables[0]
    (left, right), (number, date) = (row.cells for row in heading.rows)
    assert _cell_lines(left) == ["UBND TỈNH QUẢNG TRỊ", "TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG"]
    assert _cell_lines(right) == [
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
    ]
    blank = "\u00a0" * 8
    assert _cell_lines(number) == [f"Số:{blank}/BC-TTPVHCC"]
    # Day blank for the records office; month and year of the snapshot's as_of (16/4/2022).
    assert _cell_lines(date) == [f"Quảng Trị, ngày{blank}tháng 4 năm 2022"]
    parent, body = (p.runs[0] for p in left.paragraphs[:2])
    national, motto = (p.runs[0] for p in right.paragraphs[:2])
    assert (parent.bold, parent.font.size.pt) == (False, 13)
    assert (body.bold, body.font.size.pt) == (True, 13)
    assert (national.bold, national.font.size.pt) == (True, 12)
    assert (motto.bold, motto.font.size.pt) == (True, 13)
    assert date.paragraphs[0].runs[0].italic
    # No borders; a rule (a paragraph's top border) under the body's name and the motto.
    assert all(
        edge.get(qn("w:val")) == "nil" for edge in heading._tbl.tblPr.find(qn("w:tblBorders"))
    )
    for cell in (left, right):
        rule = cell.paragraphs[2]
        assert rule.text == "" and rule._p.find(f"{qn('w:pPr')}/{qn('w:pBdr')}") is not None
    title = [p for p in document.paragraphs if p.text][:3]
    assert [p.text for p in title] == [
        "BÁO CÁO",
        "Kết quả tiếp nhận, trả kết quả giải quyết TTHC trên Hệ thống thông tin một cửa "
        "điện tử tỉnh Quảng Trị tháng 4/2022",
        "(Từ ngày 15 tháng 3 năm 2022 đến ngày 14 tháng 4 năm 2022)",
    ]
    assert all(p.alignment == WD_ALIGN_PARAGRAPH.CENTER for p in title)
    assert title[0].runs[0].bold and title[1].runs[0].bold and title[2].runs[0].italic


def test_docx_ending_and_appendices(files: dict[str, bytes]) -> None:
    document = _docx(files["bao-cao.docx"])
    ending = document.tables[1]
    recipients, signer = ending.rows[0].cells
    lines = _cell_lines(recipients)
    assert lines == ["Nơi nhận:", "- UBND tỉnh (b/c);", "- Văn phòng UBND tỉnh;", "- Lưu: VT, …"]
    heading = recipients.paragraphs[0].runs[0]
    assert (heading.bold, heading.italic, heading.font.size.pt) == (True, True, 12)
    assert {p.runs[0].font.size.pt for p in recipients.paragraphs[1:]} == {11}
    assert _cell_lines(signer) == ["GIÁM ĐỐC", "…………………………"]
    blank_lines = [p for p in signer.paragraphs if not p.text]
    assert len(blank_lines) >= 4  # room for the signature and the seal
    # Then every appendix table, each appendix in its own section (landscape when wide).
    report_tables = [t for a in load_profile().appendices for t in a.tables]
    assert len(document.tables) == 2 + len(report_tables)
    assert len(document.sections) == 1 + len(load_profile().appendices)
    landscape = [_mm(s.page_width) > _mm(s.page_height) for s in document.sections[1:]]
    assert landscape[0] and not landscape[-1]  # Phụ lục 1 wide, Phụ lục 06 narrow
    pl1 = document.tables[2]
    assert pl1.rows[0].cells[0].text == "STT"
    assert [c.text for c in pl1.rows[3].cells] == [f"({i})" for i in range(1, 8)]
    assert [c.text for c in pl1.rows[5].cells] == [
        "1.",
        "Sở Công thương",
        "1.499",
        "1.487",
        "3",
        "9",
        "99,20",
    ]
    attached = [p.text for p in document.paragraphs if p.text.startswith("(Kèm theo")]
    assert len(attached) == len(load_profile().appendices)
    assert attached[0] == (
        "(Kèm theo Báo cáo số\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0/BC-TTPVHCC "
        "ngày\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0tháng 4 năm 2022 của "
        "Trung tâm Phục vụ hành chính công tỉnh Quảng Trị)"
    )


def test_docx_document_fields_from_the_profile(
    registry: Registry,
    profile: ReportProfile,
    snapshots: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    """A deputy signing on behalf, a name, other recipients: all from the profile."""
    spec = DocumentSpec(
        signer_authority="KT.",
        signer_deputy_position="Phó Giám đốc",
        signer_name="Người Ký Thử",
        recipients=("Như trên;",),
        archive="VT, NV",
        symbol="BC-TT",
    )
    changed = profile.model_copy(update={"document": spec})
    document = _docx(render_report(*snapshots, registry, changed)["bao-cao.docx"])
    (number, _), (recipients, signer) = (
        document.tables[0].rows[1].cells,
        document.tables[1].rows[0].cells,
    )
    assert _cell_lines(number) == ["Số:" + "\u00a0" * 8 + "/BC-TT"]
    assert _cell_lines(recipients) == ["Nơi nhận:", "- Như trên;", "- Lưu: VT, NV, …"]
    assert _cell_lines(signer) == ["KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC", "Người Ký Thử"]


def test_document_fields_derive_from_any_province() -> None:
    """Nothing in the code names Quảng Trị: a profile without `document` gets its own."""
    fields = document_fields(
        None, province="Thử Nghiệm", issuer="Trung tâm Phục vụ hành chính công tỉnh Thử Nghiệm"
    )
    assert (fields.parent_body, fields.body, fields.symbol, fields.place) == (
        "UBND tỉnh Thử Nghiệm",
        "Trung tâm Phục vụ hành chính công",
        "BC-TTPVHCC",
        "Thử Nghiệm",
    )
    assert symbol_initials("Sở Tư pháp") == "STP"
    own = document_fields(
        DocumentSpec(parent_body="Bộ X", body="Cục Y", place="Hà Nội"),
        province="Thử Nghiệm",
        issuer="Cục Y",
    )
    assert (own.parent_body, own.symbol, own.place) == ("Bộ X", "BC-CY", "Hà Nội")


def test_date_words_follow_nghi_dinh_30() -> None:
    blank = "\u00a0" * 8
    assert date_words("2023-01-16T00:00:00+07:00") == f"ngày{blank}tháng 01 năm 2023"
    assert date_words("2022-12-16T00:00:00+07:00") == f"ngày{blank}tháng 12 năm 2022"
    assert date_words("") == f"ngày{blank}tháng{blank}năm 20{blank}"


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
