"""Turns raw bytes into a validated event, or a rejection that names event and field.

Rejections never echo the offending values: an unknown field may be exactly the
personal data the contract keeps out, so only field names and rules are reported.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pydantic import ValidationError

from schemas.events import DossierEvent, parse_event
from tthc_monitor.core.engine import Engine, UnitNotInForce, UnknownReference

_MAX_ID = 128


@dataclass(frozen=True)
class Rejection:
    reason: str
    event_id: str | None = None
    field: str | None = None
    kind: str = "invalid"
    """"invalid" (the contract or the reference data) or "processing" (the rules failed
    on the event's dossier)."""

    def describe(self) -> str:
        subject = f"event {self.event_id!r}" if self.event_id else "event (no event_id)"
        return f"{subject}: {self.reason}"


def _event_id_of(raw: bytes | str) -> str | None:
    try:
        data = json.loads(raw)
    except Exception:
        return None
    value = data.get("event_id") if isinstance(data, dict) else None
    return value if isinstance(value, str) and 0 < len(value) <= _MAX_ID else None


def _describe(error: ValidationError) -> tuple[str, str | None]:
    parts: list[str] = []
    first_field: str | None = None
    for detail in error.errors(include_url=False):
        # The first location item is the union tag (the event type); skip it.
        loc = [str(p) for p in detail["loc"]]
        if len(loc) > 1 and not loc[0].startswith("function-after"):
            loc = loc[1:]
        loc = [p for p in loc if not p.startswith("function-after")]
        field = ".".join(loc) or "(event)"
        first_field = first_field or field
        message = detail["msg"]
        if detail["type"] == "extra_forbidden":
            message = "unknown field (the contract forbids extra fields)"
        elif detail["type"] == "union_tag_invalid":
            message = "unknown event type (see the contract's list of types)"
        value = detail.get("input")
        if isinstance(value, str) and value and value in message:
            # Pydantic quotes some inputs; an input may be personal data.
            message = message.replace(value, "…")
        parts.append(f"field {field!r}: {message}")
    return "; ".join(parts), first_field


def decode(raw: bytes | str | None, engine: Engine) -> DossierEvent | Rejection:
    """Validate one JSON event against the contract and the reference data."""
    if raw is None or len(raw) == 0:
        return Rejection("empty message (no value)", None, None)
    try:
        event = parse_event(raw)
    except ValidationError as error:
        # Parsed a second time only when invalid: the valid stream pays nothing for it.
        event_id = _event_id_of(raw)
        if any(e["type"] == "json_invalid" for e in error.errors()):
            return Rejection("not valid JSON", event_id, None)
        reason, field = _describe(error)
        return Rejection(reason, event_id, field)
    except (RecursionError, ValueError, TypeError) as error:
        return Rejection(f"unreadable message ({type(error).__name__})", _event_id_of(raw), None)
    try:
        engine.check_references(event)
    except UnitNotInForce as error:
        return Rejection(
            f"field {error.field!r}: unit not in force at occurred_at", event.event_id, error.field
        )
    except UnknownReference as error:
        # The value is not echoed: an unknown id is free text from the producer.
        return Rejection(
            f"field {error.field!r}: not in the reference data (unknown id)",
            event.event_id,
            error.field,
        )
    return event
