"""Reading the per-procedure alert leads CSV (``TTHC_ALERT_LEADS``, docs/alerts.md)."""

from __future__ import annotations

import csv
from pathlib import Path

__all__ = ["load_alert_leads"]


def load_alert_leads(path: Path) -> dict[str, int]:
    """Per-procedure leads: CSV ``procedure_id,lead_days`` (lead_days a whole number >= 1)."""
    leads: dict[str, int] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames != ["procedure_id", "lead_days"]:
            raise ValueError(f"{path}: header must be procedure_id,lead_days")
        for line, row in enumerate(reader, start=2):
            try:
                days = int(row["lead_days"])
            except ValueError:
                raise ValueError(f"{path}: line {line}, field 'lead_days': not a number") from None
            if days < 1:
                raise ValueError(f"{path}: line {line}, field 'lead_days': must be at least 1")
            leads[row["procedure_id"]] = days
    return leads
