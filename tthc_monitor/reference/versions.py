"""Registry versions: units read from several files, linked by validity and succession.

A province's registry changes (the 1 July 2025 reorganisation abolished the district
level and created commune-level units). Each unit carries the local dates it is in force
(``valid_from`` inclusive, ``valid_to`` exclusive) and the unit that takes its open work
at ``valid_to`` (``successor_id``). Several files (or a folder of them) are read as one
registry, so a stream from 2022 to 2026 is counted with the version in force at each
event. The rules themselves are in docs/reference-data.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path

from schemas.reference import Unit
from tthc_monitor.reference.csv_files import read_unit_rows
from tthc_monitor.reference.errors import Issue, ReferenceDataError
from tthc_monitor.reference.validation import tree_problems

__all__ = ["expand_paths", "in_force_on", "read_unit_files", "version_problems"]


def expand_paths(paths: Path | Sequence[Path]) -> list[Path]:
    """The files a units location names: a file, or every ``*.csv`` of a folder in name
    order (templates, ``*.template.csv``, are left out until a center fills and renames
    them); a sequence is expanded item by item."""
    items = [paths] if isinstance(paths, Path) else list(paths)
    files: list[Path] = []
    for item in items:
        item = Path(item)
        if item.is_dir():
            found = sorted(f for f in item.glob("*.csv") if not f.name.endswith(".template.csv"))
            if not found:
                raise ReferenceDataError([Issue(str(item), None, "folder", "holds no *.csv")])
            files.extend(found)
        else:
            files.append(item)
    return files


def read_unit_files(paths: Iterable[Path]) -> tuple[dict[str, Unit], dict[str, tuple[str, int]]]:
    """Units of every file as one registry, and where each was read (file, line).

    A unit id may appear in one file only. ``predecessor_id`` cells set the named unit's
    ``successor_id``; then parents and versions are checked across all files."""
    units: dict[str, Unit] = {}
    where: dict[str, tuple[str, int]] = {}
    predecessors: dict[str, str] = {}
    issues: list[Issue] = []
    for path in paths:
        file_units, lines, file_predecessors = read_unit_rows(path)
        for unit_id, unit in file_units.items():
            if unit_id in units:
                first = where[unit_id]
                issues.append(
                    Issue(
                        str(path),
                        lines[unit_id],
                        "unit_id",
                        f"duplicate unit_id {unit_id!r} (first in {first[0]} line {first[1]})",
                    )
                )
                continue
            units[unit_id] = unit
            where[unit_id] = (str(path), lines[unit_id])
        predecessors.update(file_predecessors)
    if issues:
        raise ReferenceDataError(issues)

    for unit_id, predecessor_id in predecessors.items():
        file, line = where[unit_id]
        old = units.get(predecessor_id)
        if old is None:
            issues.append(Issue(file, line, "predecessor_id", f"unknown unit {predecessor_id!r}"))
        elif old.successor_id not in (None, unit_id):
            issues.append(
                Issue(
                    file,
                    line,
                    "predecessor_id",
                    f"{predecessor_id!r} already has successor {old.successor_id!r}",
                )
            )
        else:
            units[predecessor_id] = old.model_copy(update={"successor_id": unit_id})
    for unit_id, message in tree_problems(units):
        issues.append(Issue(*where[unit_id], "parent_id", message))
    for unit_id, field, message in version_problems(units):
        issues.append(Issue(*where[unit_id], field, message))
    if issues:
        raise ReferenceDataError(sorted(issues, key=lambda i: (i.path, i.line or 0)))
    return units, where


def version_problems(units: Mapping[str, Unit]) -> list[tuple[str, str, str]]:
    """(unit_id, field, message) for every inconsistent validity or succession."""
    problems: list[tuple[str, str, str]] = []
    for unit in units.values():
        start, end = unit.valid_from, unit.valid_to
        if start is not None and end is not None and start >= end:
            problems.append(
                (unit.unit_id, "valid_to", f"valid_to {end} is not after valid_from {start}")
            )
        successor_id = unit.successor_id
        if successor_id is None:
            continue
        successor = units.get(successor_id)
        if successor is None:
            problems.append((unit.unit_id, "successor_id", f"unknown unit {successor_id!r}"))
        elif successor_id == unit.unit_id:
            problems.append((unit.unit_id, "successor_id", "a unit cannot succeed itself"))
        elif end is None:
            problems.append(
                (unit.unit_id, "successor_id", "a successor needs valid_to (when it takes over)")
            )
        elif not in_force_on(successor, end):
            problems.append(
                (
                    unit.unit_id,
                    "successor_id",
                    f"successor {successor_id!r} is not in force on {end} (valid "
                    f"{successor.valid_from or '…'} to {successor.valid_to or '…'})",
                )
            )
    return problems


def in_force_on(unit: Unit, day: date) -> bool:
    """Whether the unit is in force on this local date (``valid_to`` is exclusive)."""
    return (unit.valid_from is None or unit.valid_from <= day) and (
        unit.valid_to is None or day < unit.valid_to
    )
