"""Which former communes each 2025 commune-level unit covers (a reading aid for history).

The 1 July 2025 reorganisation merged communes; a center comparing a 2025 unit's figures
with the years before wants to know which former communes (and districts) it covers.
The table (`data/quangtri/communes-2025-old-to-new.csv`, source in
`data/quangtri/units/README.md`) only explains: figures are never moved along it
(history stays with the unit that did the work, docs/reference-data.md).
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from tthc_monitor.reference.bundled import bundled_path
from tthc_monitor.reference.errors import Issue, ReferenceDataError
from tthc_monitor.reference.registry import Registry

__all__ = ["BUNDLED_LINEAGE", "FormerCommune", "Lineage", "load_lineage"]

BUNDLED_LINEAGE = "quangtri/communes-2025-old-to-new.csv"
COLUMNS = ("old_code", "old_name", "old_district", "new_code", "new_name")


@dataclass(frozen=True)
class FormerCommune:
    code: str
    name: str
    district: str


@dataclass(frozen=True)
class Lineage:
    """Former communes by the official code of the 2025 unit they became part of."""

    formers: Mapping[str, tuple[FormerCommune, ...]]

    def of_unit(self, registry: Registry, unit_id: str) -> tuple[FormerCommune, ...]:
        """The former communes a 2025 unit covers (its id ends with its official code)."""
        registry.unit(unit_id)  # KeyError naming an unknown id
        return self.formers.get(unit_id.rsplit("-", 1)[-1], ())

    def rows(self, registry: Registry, units: Iterable[str]) -> list[dict[str, str]]:
        """One row per (2025 unit, former commune): the export."""
        out = []
        for unit_id in units:
            for former in self.of_unit(registry, unit_id):
                out.append(
                    {
                        "unit_id": unit_id,
                        "unit_name": registry.unit(unit_id).name,
                        "former_code": former.code,
                        "former_name": former.name,
                        "former_district": former.district,
                    }
                )
        return out


def load_lineage(path: Path | None = None) -> Lineage:
    """Read the old→new table; ``None`` means the bundled Quảng Trị one."""
    path = path if path is not None else bundled_path(BUNDLED_LINEAGE)
    formers: dict[str, list[FormerCommune]] = defaultdict(list)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise ReferenceDataError(
                [Issue(str(path), 1, "header", f"expected {','.join(COLUMNS)!r}")]
            )
        for row in reader:
            if row["new_code"]:
                formers[row["new_code"]].append(
                    FormerCommune(row["old_code"], row["old_name"], row["old_district"])
                )
    return Lineage({code: tuple(items) for code, items in formers.items()})
