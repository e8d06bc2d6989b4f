"""The stored forms of scheduled alerts: a dossier's plan record and an outbox item.

Not JSON: a million open dossiers must stay cheap in Redis memory (docs/alerts.md,
"Keys"). A dossier's plan record (``{ns}:alert``, field = dossier id) holds one line
per alert scheduled and not fired, ``id|level code|stage code|fire|due|unit``, in
fire-time order; ``apply_dossier.lua`` writes it from :func:`encode_plan`, keeping the
lines not fired, and ``claim_alerts.lua`` fires the lines due and keeps the rest. An
outbox item is ``alert_id|level|stage|fire|due|unit|dossier`` (:func:`encode_record`
after the id), which the claim script builds from a line and the dossier id.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from tthc_monitor.core.alerts import Alert, Level
from tthc_monitor.core.schedule import epoch, from_epoch

__all__ = ["LEVEL_CODES", "STAGE_CODES", "decode_outbox", "encode_plan", "encode_record"]

# One letter each: five alerts an open dossier, a million dossiers (claim_alerts.lua
# holds the same tables).
LEVEL_CODES = {"due_soon": "s", "due_today": "t", "overdue": "o", "apology_missing": "a"}
STAGE_CODES = {"owner": "o", "interagency": "i"}


def encode_plan(alerts: Iterable[Alert]) -> str:
    """A dossier's planned alerts as plan-record lines (``apply_dossier.lua`` keeps those
    not fired, and leaves out those new and older than the horizon)."""
    return "".join(
        f"{a.alert_id}|{LEVEL_CODES[a.level]}|{STAGE_CODES[a.stage]}|"
        f"{epoch(a.fire_at)}|{epoch(a.due_at)}|{a.unit_id}\n"
        for a in alerts
    )


def encode_record(alert: Alert) -> str:
    """``level|stage|fire|due|unit|dossier``: the level first (the claim script counts
    it), the dossier id last (the only field that might hold a ``|``)."""
    return "|".join(
        (
            alert.level,
            alert.stage,
            str(epoch(alert.fire_at)),
            str(epoch(alert.due_at)),
            alert.unit_id,
            alert.dossier_id,
        )
    )


def decode_outbox(item: str) -> Alert:
    """An outbox item, ``alert_id|record``, back into the alert."""
    alert_id, level, stage, fire, due, unit_id, dossier_id = item.split("|", 6)
    return Alert(
        alert_id,
        cast(Level, level),
        dossier_id,
        unit_id,
        cast(Any, stage),
        from_epoch(fire),
        from_epoch(due),
    )
