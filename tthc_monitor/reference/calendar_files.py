"""Reading the calendar-adjustments CSV into a :class:`WorkingCalendar` (docs/calendar.md).

The calendar's rules are pure (:mod:`tthc_monitor.core.calendar`); this module is the
only place that reads its table, the bundled one or an operator's replacement.
"""

from __future__ import annotations

import csv
import re
from datetime import date, time
from pathlib import Path
from typing import Literal

from pydantic import ValidationError

from schemas.reference import CalendarAdjustment
from tthc_monitor.core.calendar import WorkingCalendar
from tthc_monitor.reference.bundled import bundled_path

__all__ = [
    "BUNDLED_ADJUSTMENTS",
    "AdjustmentFileError",
    "load_adjustments",
    "load_calendar",
]

#: The table shipped with the package (government notices, see docs/calendar.md).
BUNDLED_ADJUSTMENTS: Path = bundled_path("vn_calendar_adjustments.csv")

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_FIELDS = ("date", "kind", "note")
_KINDS: dict[str, Literal["off", "work"]] = {"off": "off", "work": "work"}


class AdjustmentFileError(ValueError):
    """A malformed calendar-adjustments CSV; the message names the line and field."""

    def __init__(self, path: Path, line: int, field: str | None, message: str) -> None:
        where = f"{path}: line {line}" + (f", field {field!r}" if field else "")
        super().__init__(f"{where}: {message}")
        self.path = path
        self.line = line
        self.field = field


def load_adjustments(path: Path) -> list[CalendarAdjustment]:
    """Read a ``date,kind,note`` CSV (UTF-8, header required) into adjustments.

    ``date`` is ``YYYY-MM-DD``; ``kind`` is ``off`` or ``work``; ``note`` is free text
    (the source notice). Blank lines are skipped. Raises :class:`AdjustmentFileError`
    naming the line number and field on any bad row, unknown column or duplicate date.
    """
    path = Path(path)
    result: list[CalendarAdjustment] = []
    first_line: dict[date, int] = {}
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            raise AdjustmentFileError(path, 1, None, "empty file, expected header date,kind,note")
        columns = [c.strip() for c in header]
        unknown = [c for c in columns if c not in _FIELDS]
        if unknown or "date" not in columns or "kind" not in columns:
            raise AdjustmentFileError(
                path, 1, None, f"header must be date,kind,note, got {','.join(header)!r}"
            )
        if len(set(columns)) != len(columns):
            raise AdjustmentFileError(path, 1, None, "duplicate column in header")
        for row in reader:
            line = reader.line_num
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(row) != len(columns):
                raise AdjustmentFileError(
                    path, line, None, f"expected {len(columns)} fields, got {len(row)}"
                )
            values = dict(zip(columns, row, strict=True))
            raw_date = values["date"].strip()
            if not _DATE_RE.match(raw_date):
                raise AdjustmentFileError(
                    path, line, "date", f"expected YYYY-MM-DD, got {raw_date!r}"
                )
            try:
                day = date.fromisoformat(raw_date)
            except ValueError as exc:
                raise AdjustmentFileError(
                    path, line, "date", f"invalid date {raw_date!r}: {exc}"
                ) from None
            raw_kind = values["kind"].strip()
            kind = _KINDS.get(raw_kind)
            if kind is None:
                raise AdjustmentFileError(
                    path, line, "kind", f"expected 'off' or 'work', got {raw_kind!r}"
                )
            if day in first_line:
                raise AdjustmentFileError(
                    path,
                    line,
                    "date",
                    f"duplicate date {raw_date} (first at line {first_line[day]})",
                )
            first_line[day] = line
            try:
                result.append(
                    CalendarAdjustment(date=day, kind=kind, note=values.get("note", "").strip())
                )
            except ValidationError as exc:  # pragma: no cover - fields pre-validated above
                raise AdjustmentFileError(path, line, None, str(exc)) from None
    return result


def load_calendar(path: Path | None = None, *, office_end: time = time(17, 0)) -> WorkingCalendar:
    """A calendar with the adjustments of ``path`` (the bundled table when ``None``).

    A given file replaces the bundled table entirely; it does not add to it.
    """
    source = BUNDLED_ADJUSTMENTS if path is None else Path(path)
    return WorkingCalendar(load_adjustments(source), office_end=office_end)
