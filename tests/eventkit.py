"""Builders for test events (contract v1), so tests read like the spec's examples."""

from __future__ import annotations

import itertools
import json
from typing import Any

from schemas.events import DossierEvent, parse_event

_ids = itertools.count(1)


def ev(type_: str, dossier: str, at: str, unit: str, **fields: Any) -> DossierEvent:
    """One event; ``at`` is local time 'YYYY-MM-DD HH:MM' or a full RFC 3339 string."""
    return parse_event(json.dumps(raw(type_, dossier, at, unit, **fields)))


def raw(type_: str, dossier: str, at: str, unit: str, **fields: Any) -> dict[str, Any]:
    event_id = fields.pop("event_id", None) or f"t-{next(_ids):06d}"
    body: dict[str, Any] = {
        "schema_version": 1,
        "event_id": event_id,
        "type": type_,
        "dossier_id": dossier,
        "occurred_at": ts(at),
        "unit_id": unit,
    }
    body.update({k: ts(v) if k.endswith("_at") else v for k, v in fields.items()})
    return body


def ts(value: str) -> str:
    if "T" in value:
        return value
    return value.replace(" ", "T") + ":00+07:00"
