"""The stored form of a scheduled alert: a compact ``|``-separated record.

Not JSON: one million open timers must stay cheap in Redis memory (docs/alerts.md,
"Keys"). ``apply_dossier.lua`` stores the record; ``claim_alerts.lua`` reads its first
field (the level) and moves ``alert_id|record`` into the sinks' outboxes.
"""

from __future__ import annotations

from typing import Any, cast

from tthc_monitor.core.alerts import Alert, Level
from tthc_monitor.core.schedule import epoch, from_epoch

__all__ = ["decode_outbox", "encode_record"]


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
