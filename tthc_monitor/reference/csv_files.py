"""Reading the units and procedures CSV files into validated `Unit` and `Procedure` maps."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from schemas.reference import Procedure, Unit
from tthc_monitor.reference.errors import Issue, ReferenceDataError
from tthc_monitor.reference.validation import parse_row, tree_problems

__all__ = [
    "PROCEDURE_COLUMNS",
    "UNIT_COLUMNS",
    "UNIT_HEADERS",
    "UNIT_VERSION_COLUMNS",
    "load_procedures",
    "load_units",
    "read_procedures",
    "read_unit_rows",
    "read_units",
]

UNIT_COLUMNS: tuple[str, ...] = (
    "unit_id",
    "name",
    "parent_id",
    "level",
    "kind",
    "district",
    "report_group",
    "report_order",
)
# Optional trailing columns of a units file: the unit's validity and successor (registry
# versions). `predecessor_id` is our extension for files that add units to an existing
# registry (the 2025 departments template): it names the unit this one continues, which
# then gets this one as its successor (reference/versions.py).
UNIT_VERSION_COLUMNS: tuple[str, ...] = ("valid_from", "valid_to", "successor_id")
UNIT_PREDECESSOR_COLUMN = "predecessor_id"
UNIT_HEADERS: tuple[tuple[str, ...], ...] = (
    UNIT_COLUMNS,
    UNIT_COLUMNS + UNIT_VERSION_COLUMNS,
    UNIT_COLUMNS + UNIT_VERSION_COLUMNS + (UNIT_PREDECESSOR_COLUMN,),
)
PROCEDURE_COLUMNS: tuple[str, ...] = (
    "procedure_id",
    "name",
    "sector",
    "unit_id",
    "processing_days",
    "has_fee",
    "online_payment",
    "digitize_components",
    "digitize_results",
)
_UNIT_INT_FIELDS = frozenset({"report_order"})
_PROCEDURE_INT_FIELDS = frozenset({"processing_days"})
_PROCEDURE_BOOL_FIELDS = frozenset(
    {"has_fee", "online_payment", "digitize_components", "digitize_results"}
)


def _rows(path: Path, *headers: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, cells by column) for each data row; checks the header (one of
    ``headers``) and cell counts."""
    shown = str(path)
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                raise ReferenceDataError([Issue(shown, 1, "header", "file is empty")])
            columns = tuple(header)
            if columns not in headers:
                expected = " or ".join(repr(",".join(h)) for h in headers)
                raise ReferenceDataError(
                    [Issue(shown, 1, "header", f"expected {expected}, got {','.join(header)!r}")]
                )
            previous_end = reader.line_num
            for cells in reader:
                line = previous_end + 1
                previous_end = reader.line_num
                if not cells:
                    continue  # blank line
                if len(cells) != len(columns):
                    raise ReferenceDataError(
                        [
                            Issue(
                                shown,
                                line,
                                "row",
                                f"expected {len(columns)} cells, got {len(cells)}",
                            )
                        ]
                    )
                yield line, dict(zip(columns, cells, strict=True))
    except UnicodeDecodeError as exc:
        raise ReferenceDataError([Issue(shown, None, "file", f"not valid UTF-8: {exc}")]) from exc
    except csv.Error as exc:
        raise ReferenceDataError([Issue(shown, None, "file", f"malformed CSV: {exc}")]) from exc


def read_units(path: Path) -> tuple[dict[str, Unit], dict[str, int]]:
    """Read and validate a units CSV; also returns the line each unit_id was read from."""
    units, lines, _ = read_unit_rows(path)
    issues = [
        Issue(str(path), lines[unit_id], "parent_id", message)
        for unit_id, message in tree_problems(units)
    ]
    if issues:
        raise ReferenceDataError(sorted(issues, key=lambda i: i.line or 0))
    return units, lines


def read_unit_rows(path: Path) -> tuple[dict[str, Unit], dict[str, int], dict[str, str]]:
    """The units of one file (validated row by row, no cross-unit checks), the line of
    each, and each unit's ``predecessor_id`` when the file has that column."""
    shown = str(path)
    issues: list[Issue] = []
    units: dict[str, Unit] = {}
    lines: dict[str, int] = {}
    predecessors: dict[str, str] = {}
    for line, cells in _rows(path, *UNIT_HEADERS):
        predecessor = cells.pop(UNIT_PREDECESSOR_COLUMN, "")

        def issue(name: str, message: str, line: int = line) -> None:
            issues.append(Issue(shown, line, name, message))

        unit = parse_row(Unit, cells, ints=_UNIT_INT_FIELDS, bools=frozenset(), issue=issue)
        if unit is None:
            continue
        if unit.unit_id in units:
            issue(
                "unit_id",
                f"duplicate unit_id {unit.unit_id!r} (first on line {lines[unit.unit_id]})",
            )
            continue
        units[unit.unit_id] = unit
        lines[unit.unit_id] = line
        if predecessor:
            predecessors[unit.unit_id] = predecessor
    if issues:
        raise ReferenceDataError(sorted(issues, key=lambda i: i.line or 0))
    return units, lines, predecessors


def read_procedures(path: Path) -> tuple[dict[str, Procedure], dict[str, int]]:
    """Read and validate a procedures CSV; also returns the line of each procedure_id."""
    shown = str(path)
    issues: list[Issue] = []
    procedures: dict[str, Procedure] = {}
    lines: dict[str, int] = {}
    for line, cells in _rows(path, PROCEDURE_COLUMNS):

        def issue(name: str, message: str, line: int = line) -> None:
            issues.append(Issue(shown, line, name, message))

        proc = parse_row(
            Procedure,
            cells,
            ints=_PROCEDURE_INT_FIELDS,
            bools=_PROCEDURE_BOOL_FIELDS,
            issue=issue,
        )
        if proc is None:
            continue
        if proc.procedure_id in procedures:
            issue(
                "procedure_id",
                f"duplicate procedure_id {proc.procedure_id!r} (first on line "
                f"{lines[proc.procedure_id]})",
            )
            continue
        procedures[proc.procedure_id] = proc
        lines[proc.procedure_id] = line
    if issues:
        raise ReferenceDataError(issues)
    return procedures, lines


def load_units(path: Path) -> dict[str, Unit]:
    """Read and validate a units CSV (header, types, duplicate ids, parents, cycles)."""
    return read_units(Path(path))[0]


def load_procedures(path: Path) -> dict[str, Procedure]:
    """Read and validate a procedures CSV on its own (header, types, booleans, duplicates).

    Whether each procedure's `unit_id` exists is checked by `load_registry`.
    """
    return read_procedures(Path(path))[0]
