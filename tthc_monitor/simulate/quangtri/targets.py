"""The scenario's printed targets (data/quangtri-2022-04.json) and its calendar dates."""

from __future__ import annotations

import json
from datetime import date
from importlib import resources
from typing import Any

Q_FIRST = date(2021, 12, 15)
P_FIRST = date(2022, 3, 15)
P_LAST_RECEIPT = date(2022, 3, 31)
# Dues of dossiers carried into April, and the days their April outcomes happen on.
CARRIED_DUE = date(2022, 3, 25)
OVERDUE_DUE = date(2022, 3, 10)
CARRIED_EARLY, CARRIED_ON_TIME, CARRIED_LATE = date(2022, 3, 22), CARRIED_DUE, date(2022, 3, 29)
FAR = date(2022, 6, 30)


def load_targets(name: str = "quangtri-2022-04") -> dict[str, Any]:
    text = resources.files("tthc_monitor.simulate").joinpath("data", f"{name}.json")
    document: dict[str, Any] = json.loads(text.read_text("utf-8"))
    return document
