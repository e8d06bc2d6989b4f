"""The unit registry (`Registry`: tree queries over units and procedures) and `load_registry`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import MappingProxyType

from schemas.reference import Procedure, Unit
from tthc_monitor.reference.bundled import BUNDLED_PROCEDURES, BUNDLED_UNITS, bundled_path
from tthc_monitor.reference.csv_files import (
    PROCEDURE_COLUMNS,
    UNIT_COLUMNS,
    load_procedures,
    load_units,
    read_procedures,
)
from tthc_monitor.reference.errors import Issue, ReferenceDataError
from tthc_monitor.reference.validation import tree_problems
from tthc_monitor.reference.versions import (
    expand_paths,
    in_force_on,
    read_unit_files,
    version_problems,
)

# The loaders and errors stay importable from here too: the application, the tests and the
# benchmarks import them from this module.
__all__ = [
    "PROCEDURE_COLUMNS",
    "PROCEDURE_SCOPE_KIND",
    "UNIT_COLUMNS",
    "Issue",
    "ReferenceDataError",
    "Registry",
    "Succession",
    "bundled_path",
    "load_procedures",
    "load_registry",
    "load_units",
]

#: `kind` of the catalog-scope units (`cap-huyen`, `cap-xa`) that own the procedures shared by
#: every district or commune; they never receive dossiers themselves.
PROCEDURE_SCOPE_KIND = "procedure_scope"


@dataclass(frozen=True, order=True)
class Succession:
    """At 00:00 local time of ``day`` the unit goes out of force and its open work
    (owned dossiers, held inter-agency stages) passes to ``successor_id``."""

    day: date
    unit_id: str
    successor_id: str


@dataclass(frozen=True)
class Registry:
    """Units (by `unit_id`, in file order) and procedures (by `procedure_id`).

    Creating a Registry checks that every `parent_id` and every procedure's `unit_id` exists
    and that parent links have no cycle (`ValueError` otherwise), then builds the query maps.
    The two mappings are copied into read-only views, so later changes to the dicts passed in
    cannot desynchronise the precomputed maps. The registry is read once at start-up and then
    queried on the hot path, hence every tree query reads a map built here.
    """

    units: Mapping[str, Unit]
    procedures: Mapping[str, Procedure]

    _children: Mapping[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)
    _ancestors: Mapping[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)
    _subtree: Mapping[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)
    _top_level: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _by_unit: Mapping[str, tuple[Procedure, ...]] = field(init=False, repr=False, compare=False)
    _available: Mapping[str, tuple[Procedure, ...]] = field(init=False, repr=False, compare=False)
    _successions: tuple[Succession, ...] = field(init=False, repr=False, compare=False)
    _versioned: bool = field(init=False, repr=False, compare=False)

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
        for unit_id, message in tree_problems(units):
            problems.append(f"unit {unit_id!r}: {message}")
        for unit_id, name, message in version_problems(units):
            problems.append(f"unit {unit_id!r}: {name}: {message}")
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
            # District- and commune-level units share their level's catalog scope
            # (the 2025 commune-level units have no district any more).
            if unit.kind != PROCEDURE_SCOPE_KIND and (unit.district or unit.level == "commune"):
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
        successions = sorted(
            Succession(u.valid_to, u.unit_id, u.successor_id)
            for u in units.values()
            if u.successor_id is not None and u.valid_to is not None
        )
        object.__setattr__(self, "_successions", tuple(successions))
        object.__setattr__(
            self,
            "_versioned",
            any(u.valid_from is not None or u.valid_to is not None for u in units.values()),
        )

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

    def top_level(self, during: tuple[date, date] | None = None) -> tuple[str, ...]:
        """Units without a parent that have a report group, sorted by `report_order`;
        with ``during`` (first day, day after the last), only those in force on some
        day of it."""
        if during is None:
            return self._top_level
        return tuple(u for u in self._top_level if self.in_force_during(u, *during))

    # -- versions ----------------------------------------------------------------------
    @property
    def versioned(self) -> bool:
        """Whether any unit has a validity (else every unit is always in force)."""
        return self._versioned

    def in_force(self, unit_id: str, day: date) -> bool:
        """Whether the unit is in force on this local date."""
        return in_force_on(self.unit(unit_id), day)

    def in_force_during(self, unit_id: str, first: date, end: date) -> bool:
        """Whether the unit is in force on some day of [first, end)."""
        unit = self.unit(unit_id)
        return (unit.valid_from is None or unit.valid_from < end) and (
            unit.valid_to is None or first < unit.valid_to
        )

    def successions(self) -> tuple[Succession, ...]:
        """Every succession, in time order (then unit id)."""
        return self._successions

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


def load_registry(
    units_path: Path | Sequence[Path] | None = None, procedures_path: Path | None = None
) -> Registry:
    """Load units and procedures; `None` means the bundled Quảng Trị files.

    ``units_path`` is a units CSV, a folder of them, or a list of either: they are read
    as one versioned registry (reference/versions.py)."""
    units_files = expand_paths(
        Path(units_path)
        if isinstance(units_path, str | Path)
        else [Path(p) for p in units_path]
        if units_path is not None
        else bundled_path(BUNDLED_UNITS)
    )
    units_file = ", ".join(str(f) for f in units_files)
    procedures_file = (
        Path(procedures_path) if procedures_path is not None else bundled_path(BUNDLED_PROCEDURES)
    )
    units, _ = read_unit_files(units_files)
    procedures, lines = read_procedures(procedures_file)
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
