"""The reference files bundled with the package (Quảng Trị) and `bundled_path` to find them."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["BUNDLED_PROCEDURES", "BUNDLED_UNITS", "BUNDLED_UNIT_VERSIONS", "bundled_path"]

_BUNDLED_PACKAGE = "tthc_monitor.reference"
# The registry by version (2022 units until 30 June 2025, the 2025 commune-level units
# from 1 July 2025): a folder read as one registry (reference/versions.py).
BUNDLED_UNITS = "quangtri/units"
BUNDLED_PROCEDURES = "quangtri/procedures.csv"
BUNDLED_UNIT_VERSIONS = BUNDLED_UNITS


def bundled_path(name: str) -> Path:
    """Path of a file bundled under `tthc_monitor/reference/data/`, e.g. `quangtri/procedures.csv`
    (or a folder, e.g. `quangtri/units`)."""
    resource = resources.files(_BUNDLED_PACKAGE).joinpath("data")
    for part in name.split("/"):
        if part in ("", ".", ".."):
            raise ValueError(f"bad bundled reference file name {name!r}")
        resource = resource.joinpath(part)
    if not (resource.is_file() or resource.is_dir()):
        raise FileNotFoundError(f"no bundled reference file {name!r}")
    return Path(str(resource))
