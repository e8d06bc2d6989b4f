"""The unit registry and the procedure catalog: CSV loading, validation and tree queries.

The registry is read once at start-up and then queried on the hot path, so every tree query
(`children`, `ancestors`, `subtree`, `top_level`, `procedures_of`) is answered from maps built
once when the `Registry` is created. Nothing here does I/O at import time.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from schemas.reference import Procedure, Unit

__all__ = [
    "PROCEDURE_COLUMNS",
    "PROCEDURE_SCOPE_KIND",
    "UNIT_COLUMNS",
    "Issue",
    "ReferenceDataError",
    "Registry",
    "bundled_path",
    "load_procedures",
    "load_registry",
    "load_units",
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
_INT_RE = re.compile(r"[+-]?[0-9]+")

#: `kind` of the catalog-scope units (`cap-huyen`, `cap-xa`) that own the procedures shared by
#: every district or commune; they never receive dossiers themselves.
PROCEDURE_SCOPE_KIND = "procedure_scope"

_BUNDLED_PACKAGE = "tthc_monitor.reference"
_BUNDLED_UNITS = "quangtri/units.csv"
_BUNDLED_PROCEDURES = "quangtri/procedures.csv"

_M = TypeVar("_M", bound=BaseModel)


# --------------------------------------------------------------------------- errors


@dataclass(frozen=True)
class Issue:
    """One problem found in a reference file: where it is and what is wrong."""

    path: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        return f"{where}: field {self.field!r}: {self.message}"


class ReferenceDataError(ValueError):
    """Invalid reference data; `issues` lists every problem found (file, line, field)."""

    def __init__(self, issues: list[Issue] | tuple[Issue, ...]) -> None:
        self.issues: tuple[Issue, ...] = tuple(issues)
        shown = [str(issue) for issue in self.issues[:20]]
        if len(self.issues) > 20:
            shown.append(f"... and {len(self.issues) - 20} more")
        super().__init__("invalid reference data:\n  " + "\n  ".join(shown))


# --------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class Registry:
    """Units (by `unit_id`, in file order) and procedures (by `procedure_id`).

    Creating a Registry checks that every `parent_id` and every procedure's `unit_id` exists
    and that parent links have no cycle (`ValueError` otherwise), then builds the query maps.
    The two mappings are copied into read-only views, so later changes to the dicts passed in
    cannot desynchronise the precomputed maps.
    """

    units: Mapping[str, Unit]
    procedures: Mapping[str, Procedure]

    _children: Mapping[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)
    _ancestors: Mapping[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)
    _subtree: Mapping[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)
    _top_level: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _by_unit: Mapping[str, tuple[Procedure, ...]] = field(init=False, repr=False, compare=False)
    _available: Mapping[str, tuple[Procedure, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        units = dict(self.units)
        procedures = dict(self.procedures)
        problems: list[str] = []
        for key, unit in units.items():
            if key != unit.unit_id:
                problems.append(f"units[{key!r}] holds unit_id {unit.unit_id!r}")
        for key, proc in procedures.items():
            if key != proc.procedure_id:
                problems.append(f"procedures[{key!r}] holds procedure_id {proc.procedure_id!r}")
            if proc.unit_id not in units:
                problems.append(f"procedure {key!r}: unknown unit_id {proc.unit_id!r}")
        for unit_id, message in _tree_problems(units):
            problems.append(f"unit {unit_id!r}: {message}")
        if problems:
            raise ValueError("inconsistent registry: " + "; ".join(problems))

        children: dict[str, list[str]] = {unit_id: [] for unit_id in units}
        for unit in units.values():
            if unit.parent_id is not None:
                children[unit.parent_id].append(unit.unit_id)

        ancestors: dict[str, tuple[str, ...]] = {}
        for unit_id in units:
            chain: list[str] = []
            parent = units[unit_id].parent_id
            while parent is not None:
                chain.append(parent)
                parent = units[parent].parent_id
            ancestors[unit_id] = tuple(chain)

        subtree: dict[str, tuple[str, ...]] = {}

        def build(unit_id: str) -> tuple[str, ...]:
            done = subtree.get(unit_id)
            if done is None:
                collected = [unit_id]
                for child in children[unit_id]:
                    collected.extend(build(child))
                done = subtree[unit_id] = tuple(collected)
            return done

        for unit_id in units:
            # Recursion depth is the tree depth (a handful of levels).
            if units[unit_id].parent_id is None:
                build(unit_id)

        position = {unit_id: index for index, unit_id in enumerate(units)}
        top = sorted(
            (u.unit_id for u in units.values() if u.parent_id is None and u.report_group),
            key=lambda unit_id: (units[unit_id].report_order, position[unit_id]),
        )

        by_unit: dict[str, list[Procedure]] = {unit_id: [] for unit_id in units}
        for proc in procedures.values():
            by_unit[proc.unit_id].append(proc)
        own = {unit_id: tuple(procs) for unit_id, procs in by_unit.items()}

        scopes: dict[str, list[str]] = {}
        for unit in units.values():
            if unit.kind == PROCEDURE_SCOPE_KIND:
                scopes.setdefault(unit.level, []).append(unit.unit_id)
        available: dict[str, tuple[Procedure, ...]] = {}
        for unit in units.values():
            sources = [unit.unit_id, *ancestors[unit.unit_id]]
            if unit.district and unit.kind != PROCEDURE_SCOPE_KIND:
                sources.extend(scopes.get(unit.level, ()))
            available[unit.unit_id] = tuple(p for source in sources for p in own[source])

        object.__setattr__(self, "units", MappingProxyType(units))
        object.__setattr__(self, "procedures", MappingProxyType(procedures))
        object.__setattr__(
            self, "_children", MappingProxyType({k: tuple(v) for k, v in children.items()})
        )
        object.__setattr__(self, "_ancestors", MappingProxyType(ancestors))
        object.__setattr__(self, "_subtree", MappingProxyType(subtree))
        object.__setattr__(self, "_top_level", tuple(top))
        object.__setattr__(self, "_by_unit", MappingProxyType(own))
        object.__setattr__(self, "_available", MappingProxyType(available))

    def _require_unit(self, unit_id: str) -> None:
        if unit_id not in self.units:
            raise KeyError(f"unknown unit_id {unit_id!r}: not in the unit registry")

    def unit(self, unit_id: str) -> Unit:
        """The unit with this id; `KeyError` naming the id if there is none."""
        try:
            return self.units[unit_id]
        except KeyError:
            raise KeyError(f"unknown unit_id {unit_id!r}: not in the unit registry") from None

    def procedure(self, procedure_id: str) -> Procedure:
        """The procedure with this id; `KeyError` naming the id if there is none."""
        try:
            return self.procedures[procedure_id]
        except KeyError:
            raise KeyError(
                f"unknown procedure_id {procedure_id!r}: not in the procedure catalog"
            ) from None

    def children(self, unit_id: str) -> tuple[str, ...]:
        """Direct children of a unit, in file order."""
        self._require_unit(unit_id)
        return self._children[unit_id]

    def ancestors(self, unit_id: str) -> tuple[str, ...]:
        """Parent first, then its parent, up to the root; empty for a top-level unit."""
        self._require_unit(unit_id)
        return self._ancestors[unit_id]

    def subtree(self, unit_id: str) -> tuple[str, ...]:
        """The unit itself followed by all its descendants (depth first, file order)."""
        self._require_unit(unit_id)
        return self._subtree[unit_id]

    def top_level(self) -> tuple[str, ...]:
        """Units without a parent that have a report group, sorted by `report_order`."""
        return self._top_level

    def procedures_of(self, unit_id: str) -> tuple[Procedure, ...]:
        """Procedures whose owning `unit_id` is this unit (catalog order)."""
        self._require_unit(unit_id)
        return self._by_unit[unit_id]

    def procedures_available(self, unit_id: str) -> tuple[Procedure, ...]:
        """Procedures a dossier received at this unit may plausibly be of.

        The unit's own procedures, then its ancestors' (a land branch handles its department's
        land procedures), then, for a unit located in a district, those of the catalog-scope
        unit(s) of its level (`cap-huyen` for district level, `cap-xa` for commune level).
        A convenience for simulators and plausibility checks; the event contract itself only
        requires that a procedure exists in the catalog.
        """
        self._require_unit(unit_id)
        return self._available[unit_id]


def _tree_problems(units: Mapping[str, Unit]) -> list[tuple[str, str]]:
    """(unit_id, message) for every unknown parent and every cycle of parent links."""
    problems: list[tuple[str, str]] = []
    for unit in units.values():
        if unit.parent_id is not None and unit.parent_id not in units:
            problems.append((unit.unit_id, f"unknown parent_id {unit.parent_id!r}"))
    acyclic: set[str] = set()
    reported: set[str] = set()
    for start in units:
        path: list[str] = []
        on_path: set[str] = set()
        current: str | None = start
        while current is not None and current in units and current not in acyclic:
            if current in on_path:
                cycle = path[path.index(current) :]
                if not reported.intersection(cycle):
                    reported.update(cycle)
                    loop = " -> ".join([*cycle, current])
                    problems.append((cycle[0], f"parent_id cycle: {loop}"))
                break
            path.append(current)
            on_path.add(current)
            current = units[current].parent_id
        else:
            acyclic.update(path)
    return problems


# --------------------------------------------------------------------------- CSV reading


def _rows(path: Path, columns: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, cells by column) for each data row; checks the header and cell counts."""
    shown = str(path)
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                raise ReferenceDataError([Issue(shown, 1, "header", "file is empty")])
            if tuple(header) != columns:
                raise ReferenceDataError(
                    [
                        Issue(
                            shown,
                            1,
                            "header",
                            f"expected {','.join(columns)!r}, got {','.join(header)!r}",
                        )
                    ]
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


def _parse_row(
    model: type[_M],
    cells: dict[str, str],
    *,
    ints: frozenset[str],
    bools: frozenset[str],
    issue: Callable[[str, str], None],
) -> _M | None:
    """Convert CSV cells to `model`; report problems through `issue(field, message)`."""
    values: dict[str, Any] = {}
    ok = True
    for name, raw in cells.items():
        if raw == "":
            if model.model_fields[name].is_required():
                issue(name, "required value is empty")
                ok = False
            # Optional field: leave it out so the model default applies (None for
            # parent_id / district, "" for report_group, 0 for report_order).
            continue
        if name in bools:
            if raw not in ("true", "false"):
                issue(name, f"expected 'true' or 'false', got {raw!r}")
                ok = False
                continue
            values[name] = raw == "true"
        elif name in ints:
            if not _INT_RE.fullmatch(raw):
                issue(name, f"expected an integer, got {raw!r}")
                ok = False
                continue
            values[name] = int(raw)
        else:
            values[name] = raw
    if not ok:
        return None
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        for error in exc.errors():
            loc = ".".join(str(part) for part in error["loc"]) or "row"
            issue(loc, str(error["msg"]))
        return None


def _read_units(path: Path) -> tuple[dict[str, Unit], dict[str, int]]:
    shown = str(path)
    issues: list[Issue] = []
    units: dict[str, Unit] = {}
    lines: dict[str, int] = {}
    for line, cells in _rows(path, UNIT_COLUMNS):

        def issue(name: str, message: str, line: int = line) -> None:
            issues.append(Issue(shown, line, name, message))

        unit = _parse_row(Unit, cells, ints=_UNIT_INT_FIELDS, bools=frozenset(), issue=issue)
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
    for unit_id, message in _tree_problems(units):
        issues.append(Issue(shown, lines[unit_id], "parent_id", message))
    if issues:
        raise ReferenceDataError(sorted(issues, key=lambda i: i.line or 0))
    return units, lines


def _read_procedures(path: Path) -> tuple[dict[str, Procedure], dict[str, int]]:
    shown = str(path)
    issues: list[Issue] = []
    procedures: dict[str, Procedure] = {}
    lines: dict[str, int] = {}
    for line, cells in _rows(path, PROCEDURE_COLUMNS):

        def issue(name: str, message: str, line: int = line) -> None:
            issues.append(Issue(shown, line, name, message))

        proc = _parse_row(
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
    return _read_units(Path(path))[0]


def load_procedures(path: Path) -> dict[str, Procedure]:
    """Read and validate a procedures CSV on its own (header, types, booleans, duplicates).

    Whether each procedure's `unit_id` exists is checked by `load_registry`.
    """
    return _read_procedures(Path(path))[0]


def bundled_path(name: str) -> Path:
    """Path of a file bundled under `tthc_monitor/reference/data/`, e.g. `quangtri/units.csv`."""
    resource = resources.files(_BUNDLED_PACKAGE).joinpath("data")
    for part in name.split("/"):
        if part in ("", ".", ".."):
            raise ValueError(f"bad bundled reference file name {name!r}")
        resource = resource.joinpath(part)
    if not resource.is_file():
        raise FileNotFoundError(f"no bundled reference file {name!r}")
    return Path(str(resource))


def load_registry(units_path: Path | None = None, procedures_path: Path | None = None) -> Registry:
    """Load units and procedures; `None` means the bundled Quảng Trị file."""
    units_file = Path(units_path) if units_path is not None else bundled_path(_BUNDLED_UNITS)
    procedures_file = (
        Path(procedures_path) if procedures_path is not None else bundled_path(_BUNDLED_PROCEDURES)
    )
    units, _ = _read_units(units_file)
    procedures, lines = _read_procedures(procedures_file)
    issues = [
        Issue(
            str(procedures_file),
            lines[proc.procedure_id],
            "unit_id",
            f"unknown unit_id {proc.unit_id!r} (not in {units_file})",
        )
        for proc in procedures.values()
        if proc.unit_id not in units
    ]
    if issues:
        raise ReferenceDataError(issues)
    return Registry(units=units, procedures=procedures)
