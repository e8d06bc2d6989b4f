"""Write every file of the monthly report from two frozen snapshots.

`export_report` lays the appendices out once (`layout.build_report`) and hands the same
tables to each writer, so the xlsx, the CSVs, the Markdown and the narrative cannot
disagree. All outputs are deterministic: the same snapshots, registry and profile give
byte-identical files (fixed timestamps taken from the snapshot, no random ids).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tthc_monitor.reference.registry import Registry
from tthc_monitor.report.docx_writer import docx_bytes
from tthc_monitor.report.layout import build_report
from tthc_monitor.report.model import Report, ReportError
from tthc_monitor.report.narrative import build_narrative
from tthc_monitor.report.narrative_blocks import narrative_markdown
from tthc_monitor.report.profile import ProfileError, ReportProfile, check_profile
from tthc_monitor.report.tabletext import appendices_markdown, table_csv
from tthc_monitor.report.xlsx import xlsx_bytes

__all__ = ["ReportError", "export_report", "render_report"]


def render_report(
    period_snapshot: Mapping[str, Any],
    land_snapshot: Mapping[str, Any],
    registry: Registry,
    profile: ReportProfile,
) -> dict[str, bytes]:
    """File name -> bytes of every output, in a fixed order (nothing is written)."""
    problems = check_profile(profile, registry)
    if problems:
        raise ProfileError("report profile does not fit the registry:\n  " + "\n  ".join(problems))
    report: Report = build_report(period_snapshot, land_snapshot, registry, profile)
    files: dict[str, bytes] = {"appendices.xlsx": xlsx_bytes(report)}
    for appendix in report.appendices:
        for table in appendix.tables:
            files[table.csv_name] = table_csv(table).encode("utf-8")
    files["appendices.md"] = appendices_markdown(report).encode("utf-8")
    blocks = build_narrative(report, profile.narrative)
    files["bao-cao.md"] = narrative_markdown(blocks).encode("utf-8")
    files["bao-cao.docx"] = docx_bytes(blocks, report, profile.document)
    return files


def export_report(
    period_snapshot: Mapping[str, Any],
    land_snapshot: Mapping[str, Any],
    registry: Registry,
    profile: ReportProfile,
    out_dir: Path,
) -> list[Path]:
    """Write the report's files into `out_dir` (created if needed); their paths, in order.

    Raises `ProfileError` when the profile names units the registry lacks and `ReportError`
    when a snapshot misses a unit or a figure, before any file is written.
    """
    files = render_report(period_snapshot, land_snapshot, registry, profile)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name, data in files.items():
        path = out_dir / name
        path.write_bytes(data)
        written.append(path)
    return written
