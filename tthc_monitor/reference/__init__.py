"""Reference data: the unit registry and the procedure catalog (bundled: Quảng Trị)."""

from tthc_monitor.reference.registry import (
    PROCEDURE_COLUMNS,
    PROCEDURE_SCOPE_KIND,
    UNIT_COLUMNS,
    Issue,
    ReferenceDataError,
    Registry,
    bundled_path,
    load_procedures,
    load_registry,
    load_units,
)

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
