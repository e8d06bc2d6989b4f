"""`bao-cao.docx` printed: rendered by LibreOffice, checked as an administrative document.

The April 2022 report (the seed inverted into snapshots) is rendered to PDF with
LibreOffice headless, as a clerk's "Save as PDF" would, then read back with poppler:
page size, text and word positions of page 1 (the heading of Nghị định 30/2020/NĐ-CP),
the fonts embedded (a fallback font would mean Vietnamese letters missing from the
Times New Roman stand-in), the rules under the issuing body and the motto measured on a
grey-scale image, and the ending before the appendices. Pages 1 and 2 are written as PNG
to test-artifacts/, page 1 also to docs/img/bao-cao-trang-1.png (docs/report.md shows it).
"""

from __future__ import annotations

import html
import re
import shutil
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fixtures.seed_snapshot import seed_snapshots
from tests.programs import ROOT, require
from tthc_monitor.reference.registry import Registry
from tthc_monitor.report import load_profile, render_report
from tthc_monitor.report.docx_heading import LEFT_WIDTH, MOTTO, NATIONAL_HEADING

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

ARTIFACTS = ROOT / "test-artifacts"
DOC_IMAGE = ROOT / "docs" / "img" / "bao-cao-trang-1.png"
A4 = (595.3, 841.9)  # points
CM = 72 / 2.54
# Text block of the first section: left margin 3 cm, right 1.5 cm, top 2 cm.
TEXT_LEFT, TEXT_RIGHT, TEXT_TOP = 3 * CM, A4[0] - 1.5 * CM, 2 * CM
DPI = 100  # grey-scale image the rules are measured on


@dataclass(frozen=True)
class Word:
    text: str
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def centre(self) -> float:
        return (self.x0 + self.x1) / 2


@pytest.fixture(scope="module")
def pdf(tmp_path_factory: pytest.TempPathFactory, registry: Registry) -> Path:
    soffice = require("soffice", "libreoffice-writer")
    for program in ("pdftoppm", "pdftotext", "pdfinfo", "pdffonts"):
        require(program, "poppler-utils")
    work = tmp_path_factory.mktemp("bao-cao")
    profile = load_profile()
    files = render_report(*seed_snapshots(registry, profile), registry, profile)
    docx = work / "bao-cao.docx"
    docx.write_bytes(files["bao-cao.docx"])
    # A profile of its own: parallel runs (and a desktop LibreOffice) do not share one.
    result = subprocess.run(
        [
            soffice,
            f"-env:UserInstallation={(work / 'lo-profile').as_uri()}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(work),
            str(docx),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    out = work / "bao-cao.pdf"
    assert result.returncode == 0 and out.exists(), result.stdout + result.stderr
    return out


def _run(*args: str) -> str:
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=True).stdout


def _words(pdf: Path, page: int) -> list[Word]:
    """Every word of a page with its box in points (pdftotext -bbox)."""
    out = _run("pdftotext", "-bbox", "-f", str(page), "-l", str(page), str(pdf), "-")
    pattern = r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>'
    return [
        Word(html.unescape(t), float(a), float(b), float(c), float(d))
        for a, b, c, d, t in re.findall(pattern, out)
    ]


def _text(pdf: Path, page: int, *, layout: bool = False) -> str:
    """A page's text with every run of white space made one space (in reading order, or
    line by line across the page with `layout`)."""
    mode = ["-layout"] if layout else []
    raw = _run("pdftotext", *mode, "-f", str(page), "-l", str(page), str(pdf), "-")
    return " ".join(raw.split())


def _pages(pdf: Path) -> int:
    return int(re.search(r"Pages:\s+(\d+)", _run("pdfinfo", str(pdf))).group(1))  # type: ignore[union-attr]


def _phrase(words: list[Word], phrase: str) -> list[Word]:
    """The consecutive words that spell `phrase` (first occurrence)."""
    parts = phrase.split()
    for i in range(len(words) - len(parts) + 1):
        if [w.text for w in words[i : i + len(parts)]] == parts:
            return words[i : i + len(parts)]
    raise AssertionError(f"{phrase!r} not on the page: {' '.join(w.text for w in words)}")


def _pages_arg(page: int) -> list[str]:
    return ["-f", str(page), "-l", str(page)]


def _grey(pdf: Path, page: int, work: Path) -> tuple[int, int, bytes]:
    """(width, height, pixels) of a page rendered as 8-bit grey at `DPI`."""
    stem = work / f"grey-{page}"
    subprocess.run(
        [
            "pdftoppm",
            "-gray",
            "-r",
            str(DPI),
            *_pages_arg(page),
            "-singlefile",
            str(pdf),
            str(stem),
        ],
        check=True,
        timeout=120,
    )
    data = stem.with_suffix(".pgm").read_bytes()
    magic, width, height, maxval, pixels = re.match(  # type: ignore[union-attr]
        rb"(P5)\s+(\d+)\s+(\d+)\s+(\d+)\s(.*)", data, re.DOTALL
    ).groups()
    assert magic == b"P5" and int(maxval) == 255
    return int(width), int(height), pixels


def _longest_rule(
    image: tuple[int, int, bytes], x0: float, x1: float, y0: float, y1: float
) -> float:
    """The longest horizontal run of dark pixels between y0 and y1 (points), in points."""
    width, _, pixels = image
    scale = DPI / 72
    best = 0
    for y in range(int(y0 * scale), int(y1 * scale) + 1):
        run = 0
        for x in range(int(x0 * scale), int(x1 * scale) + 1):
            run = run + 1 if pixels[y * width + x] < 160 else 0
            best = max(best, run)
    return best / scale


def _opens(page_text: str, label: str) -> bool:
    """The page starts with `label` (after its page number)."""
    return re.match(rf"(\d+ )?{re.escape(label)} ", page_text) is not None


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_first_page_is_an_administrative_document(pdf: Path, tmp_path: Path) -> None:
    assert _pages(pdf) > 1
    info = _run("pdfinfo", "-f", "1", "-l", "1", str(pdf))
    size = re.search(r"Page\s+1 size:\s+([\d.]+) x ([\d.]+)", info)
    assert size is not None, info
    width, height = map(float, size.groups())
    assert (round(width), round(height)) == (595, 842), info  # A4 portrait

    text = _text(pdf, 1)
    for expected in (
        "UBND TỈNH QUẢNG TRỊ",
        "TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG",
        "/BC-TTPVHCC",
        NATIONAL_HEADING,
        MOTTO,
        "Quảng Trị, ngày tháng 4 năm 2022",  # the day is left blank for the records office
        "BÁO CÁO",
        "Kết quả tiếp nhận, trả kết quả giải quyết TTHC",
        "(Từ ngày 15 tháng 3 năm 2022 đến ngày 14 tháng 4 năm 2022)",
        "67.851",
    ):
        assert expected in text, (expected, text[:600])
    assert re.search(r"Số: /BC-TTPVHCC", text), text[:400]

    words = _words(pdf, 1)
    middle = (TEXT_LEFT + TEXT_RIGHT) / 2
    # The body's heading on the left, the national heading and motto on the right.
    parent = _phrase(words, "UBND TỈNH QUẢNG TRỊ")
    national = _phrase(words, NATIONAL_HEADING)
    motto = _phrase(words, MOTTO)
    date = _phrase(words, "Quảng Trị, ngày")
    number = _phrase(words, "Số:")
    boundary = TEXT_LEFT + LEFT_WIDTH.pt  # between the heading table's two columns
    assert parent[-1].x1 < boundary < national[0].x0
    assert abs(parent[0].y0 - national[0].y0) < 4, "the two headings start on one line"
    # Centred in their columns: the motto and the national heading share a centre.
    assert abs((motto[0].x0 + motto[-1].x1) / 2 - (national[0].x0 + national[-1].x1) / 2) < 2
    # The number line and the date line share a baseline, under the headings.
    assert abs(number[0].y1 - date[0].y1) < 1.5 and number[0].y0 > parent[0].y1
    # "BÁO CÁO" centred on the text block, below the heading.
    kind = _phrase(words, "BÁO CÁO")
    assert abs((kind[0].x0 + kind[-1].x1) / 2 - middle) < 3
    assert kind[0].y0 > date[0].y1
    # Margins: justified body lines run from 3 cm to 1.5 cm from the edges; text from 2 cm.
    assert abs(min(w.x0 for w in words) - TEXT_LEFT) < 1.5
    assert abs(max(w.x1 for w in words) - TEXT_RIGHT) < 1.5
    # (a word's box is its font's height, so a stacked accent may reach a little above)
    assert TEXT_TOP - 2 <= min(w.y0 for w in words) < TEXT_TOP + 12

    # Rules (Nghị định 30): under the motto as long as it; under the body's name a third
    # to a half of its line. Measured as runs of dark pixels between the lines.
    image = _grey(pdf, 1, tmp_path)
    motto_width = motto[-1].x1 - motto[0].x0
    motto_rule = _longest_rule(
        image, motto[0].x0 - 20, motto[-1].x1 + 20, motto[0].y1 + 1, date[0].y0 - 1
    )
    assert abs(motto_rule - motto_width) < 0.06 * motto_width, (motto_rule, motto_width)
    body_line = _phrase(words, "TRUNG TÂM PHỤC VỤ")
    body_width = body_line[-1].x1 - body_line[0].x0
    body_bottom = _phrase(words, "HÀNH CHÍNH CÔNG")[0].y1
    body_rule = _longest_rule(image, TEXT_LEFT, boundary, body_bottom + 1, number[0].y0 - 1)
    assert body_width / 3 <= body_rule <= body_width / 2, (body_rule, body_width)

    # Every font is the Times New Roman stand-in: a fallback font would mean Vietnamese
    # letters (ế, ả, ộ…) missing from the installed one (fonts-liberation 1.x lacks them).
    fonts = _run("pdffonts", str(pdf)).splitlines()[2:]
    names = {line.split()[0].split("+")[-1] for line in fonts}
    assert names and all(n.startswith(("LiberationSerif", "TimesNewRoman")) for n in names), (
        f"fonts {sorted(names)}: install fonts-liberation2 (Vietnamese glyphs)"
    )


def test_ending_comes_before_the_appendices(pdf: Path) -> None:
    pages = [_text(pdf, n, layout=True) for n in range(1, _pages(pdf) + 1)]
    ending = next(i for i, t in enumerate(pages) if "Nơi nhận:" in t)
    first_appendix = next(i for i, t in enumerate(pages) if _opens(t, "Phụ lục 1"))
    assert ending < first_appendix
    text = pages[ending]
    for expected in ("GIÁM ĐỐC", "- UBND tỉnh (b/c);", "- Lưu: VT, …", "…………………………"):
        assert expected in text, (expected, text)
    # The signature never stands alone: the narrative's last lines share its page.
    assert "Số liệu: snapshot kỳ 2022-04" in text
    words = _words(pdf, ending + 1)
    recipients = _phrase(words, "Nơi nhận:")
    position = _phrase(words, "GIÁM ĐỐC")
    assert recipients[0].x1 < position[0].x0 and abs(recipients[0].y1 - position[0].y1) < 3
    # Each appendix opens its own page, tied to the report.
    for label in ("Phụ lục 1", "Phụ lục 2", "Phụ lục 3", "Phụ lục 4", "Phụ lục 05", "Phụ lục 06"):
        page = next(t for t in pages[ending + 1 :] if _opens(t, label))
        assert "(Kèm theo Báo cáo số /BC-TTPVHCC ngày tháng 4 năm 2022" in page, label


def test_first_pages_as_png(pdf: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    for page in (1, 2):
        stem = ARTIFACTS / f"bao-cao-trang-{page}"
        subprocess.run(
            ["pdftoppm", "-r", "80", "-png", *_pages_arg(page), "-singlefile", str(pdf), str(stem)],
            check=True,
            timeout=120,
        )
        width, height = _png_size(stem.with_suffix(".png"))
        assert abs(width - A4[0] / 72 * 80) <= 2 and abs(height - A4[1] / 72 * 80) <= 2
    DOC_IMAGE.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ARTIFACTS / "bao-cao-trang-1.png", DOC_IMAGE)
