"""Turns raw bytes into a validated event, or a rejection that names event and field.

Rejections never echo the offending values: an unknown field may be exactly the
personal data the contract keeps out, so only field names and rules are reported.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pydantic import ValidationError

from schemas.events import DossierEvent, parse_event
from tthc_monitor.core.engine import Engine, UnknownReference

_MAX_ID = 128


@dataclass(frozen=True)
class Rejection:
    reason: str
    event_id: str | None = None
    field: str | None = None

    def describe(self) -> str:
        subject = f"event {self.event_id!r}" if self.event_id else "event (no event_id)"
        return f"{subject}: {self.reason}"


def _event_id_of(raw: bytes | str) -> str | None:
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    value = data.get("event_id") if isinstance(data, dict) else None
    return value if isinstance(value, str) and 0 < len(value) <= _MAX_ID else None


def _describe(error: ValidationError) -> tuple[str, str | None]:
    parts: list[str] = []
    first_field: str | None = None
    for detail in error.errors(include_input=False, include_url=False):
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
        parts.append(f"field {field!r}: {message}")
    return "; ".join(parts), first_field


def decode(raw: bytes | str, engine: Engine) -> DossierEvent | Rejection:
    """Validate one JSON event against the contract and the reference data."""
    event_id = _event_id_of(raw)
    try:
        event = parse_event(raw)
    except ValidationError as error:
        if error.title and any(e["type"] == "json_invalid" for e in error.errors()):
            return Rejection("not valid JSON", event_id, None)
        reason, field = _describe(error)
        return Rejection(reason, event_id, field)
    try:
        engine.check_references(event)
    except UnknownReference as error:
        # Unit and procedure ids are public reference codes, safe to repeat.
        return Rejection(
            f"field {error.field!r}: {error.value!r} is not in the reference data",
            event.event_id,
            error.field,
        )
    return event
