"""Reference data: the unit registry and the procedure catalog (bundled: Quảng Trị)."""

from tthc_monitor.reference.bundled import bundled_path
from tthc_monitor.reference.csv_files import (
    PROCEDURE_COLUMNS,
    UNIT_COLUMNS,
    UNIT_VERSION_COLUMNS,
    load_procedures,
    load_units,
)
from tthc_monitor.reference.errors import Issue, ReferenceDataError
from tthc_monitor.reference.registry import PROCEDURE_SCOPE_KIND, Registry, load_registry

__all__ = [
    "PROCEDURE_COLUMNS",
    "PROCEDURE_SCOPE_KIND",
    "UNIT_COLUMNS",
    "UNIT_VERSION_COLUMNS",
    "Issue",
    "ReferenceDataError",
    "Registry",
    "bundled_path",
    "load_procedures",
    "load_registry",
    "load_units",
]
