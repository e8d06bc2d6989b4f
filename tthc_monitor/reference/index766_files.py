"""Reading the Decision 766 indicator table (bundled ``index766.json`` or another file)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tthc_monitor.core.index766 import Indicator
from tthc_monitor.reference.bundled import bundled_path

__all__ = ["load_indicators"]


def load_indicators(path: Path | None = None) -> tuple[Indicator, ...]:
    """The indicators of ``path``, or of the bundled table when ``None``."""
    source = bundled_path("index766.json") if path is None else path
    data: dict[str, Any] = json.loads(source.read_text("utf-8"))
    return tuple(
        Indicator(i["id"], i["name"], float(i["points"]), i["target"]) for i in data["indicators"]
    )
