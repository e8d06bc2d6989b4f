"""The monthly report: appendices Phụ lục 1–6 and the narrative, from frozen snapshots.

`export_report(period_snapshot, land_snapshot, registry, profile, out_dir)` writes
`appendices.xlsx`, one CSV per table, `appendices.md`, `bao-cao.md` and `bao-cao.docx`;
`load_profile(path | None)` reads a province's report profile (bundled: Quảng Trị).
See docs/report.md.
"""

from tthc_monitor.report.export import export_report, render_report
from tthc_monitor.report.layout import build_report
from tthc_monitor.report.model import Report, ReportError
from tthc_monitor.report.profile import ProfileError, ReportProfile, load_profile

__all__ = [
    "ProfileError",
    "Report",
    "ReportError",
    "ReportProfile",
    "build_report",
    "export_report",
    "load_profile",
    "render_report",
]
