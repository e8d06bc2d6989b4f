"""Validation rules for reference data: typed CSV cells and acyclic, complete parent links."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from schemas.reference import Unit

__all__ = ["parse_row", "tree_problems"]

_INT_RE = re.compile(r"[+-]?[0-9]+")

_M = TypeVar("_M", bound=BaseModel)


def tree_problems(units: Mapping[str, Unit]) -> list[tuple[str, str]]:
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


def parse_row(
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
