"""Dossier lifecycle events, contract v1 (docs/rules.md, "The event contract").

Models are frozen and forbid unknown fields: the stream must never carry personal
data, so a producer that adds a field (a citizen's name, say) is refused rather
than silently stored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    TypeAdapter,
    field_validator,
    model_validator,
)

EVENT_TYPES: tuple[str, ...] = (
    "received",
    "transferred",
    "resolved",
    "digitized",
    "paid",
    "apologized",
    "extended",
    "withdrawn",
    "supplement_requested",
    "supplemented",
)

DossierId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._/-]+$")]
# Any printable text: producers choose their ids, but a control character is junk.
EventId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$")]
UnitId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]*$")]
FreeText = Annotated[str, Field(max_length=200)]


# Years a timestamp may have, as written: a dossier of the one-stop system is never older
# than the system, and a year past this is a producer's bug (9999-12-31 placeholders
# would also overflow the deadline arithmetic). A fixed range, not "now + margin", so
# the same bytes get the same verdict in a rebuild years later.
FIRST_YEAR, LAST_YEAR = 2000, 2099
MAX_AMOUNT_VND = 10**15
"""Above any fee, and below 2**53: the amount stays exact in every JSON reader."""


def _rfc3339_text(value: object) -> object:
    # Pydantic would read a JSON number as Unix time; the contract says RFC 3339 text.
    if isinstance(value, int | float):
        raise ValueError("timestamp must be RFC 3339 text, not a number")
    return value


def _has_offset(value: datetime) -> datetime:
    # AwareDatetime already refuses naive values; this keeps the rule explicit
    # for readers of the model: RFC 3339 requires an offset.
    if value.utcoffset() is None:  # pragma: no cover - AwareDatetime guards it
        raise ValueError("timestamp needs an offset")
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"timestamp outside the years {FIRST_YEAR}-{LAST_YEAR}")
    return value


Timestamp = Annotated[
    AwareDatetime,
    BeforeValidator(_rfc3339_text),
    AfterValidator(_has_offset),
    # The same year range for JSON Schema readers.
    Field(json_schema_extra={"pattern": "^20[0-9]{2}-"}),
]


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)

    schema_version: Literal[1]
    event_id: EventId
    dossier_id: DossierId
    occurred_at: Timestamp
    unit_id: UnitId

    @field_validator("schema_version", mode="before")
    @classmethod
    def _integer_version(cls, value: object) -> object:
        # JSON `true` and `"1"` would otherwise be coerced to 1.
        if type(value) is not int:
            raise ValueError("schema_version must be the JSON integer 1")
        return value


class Received(_Event):
    type: Literal["received"]
    procedure_id: Annotated[str, Field(min_length=1, max_length=64)]
    channel: Literal["online", "direct", "postal"]
    due_at: Timestamp | None = None
    stage_due_at: Timestamp | None = None


class Transferred(_Event):
    type: Literal["transferred"]
    to_unit_id: UnitId
    stage_due_at: Timestamp | None = None


class Resolved(_Event):
    type: Literal["resolved"]
    result: Literal["approved", "rejected"] | None = None


class Digitized(_Event):
    # The same rule as _result_is_complete, for consumers of the JSON Schema.
    model_config = ConfigDict(
        json_schema_extra={
            "if": {"properties": {"target": {"const": "result"}}},
            "then": {"properties": {"complete": {"const": True}}},
        }
    )

    type: Literal["digitized"]
    target: Literal["components", "result"]
    complete: StrictBool

    @model_validator(mode="after")
    def _result_is_complete(self) -> Digitized:
        if self.target == "result" and not self.complete:
            raise ValueError("complete must be true when target is 'result'")
        return self


class Paid(_Event):
    type: Literal["paid"]
    channel: Literal["national_portal", "one_stop", "offline"]
    amount_vnd: Annotated[StrictInt, Field(ge=0, le=MAX_AMOUNT_VND)]


class Apologized(_Event):
    type: Literal["apologized"]
    new_appointment_at: Timestamp | None = None


class Extended(_Event):
    type: Literal["extended"]
    new_due_at: Timestamp


class Withdrawn(_Event):
    type: Literal["withdrawn"]
    reason: FreeText | None = None


class SupplementRequested(_Event):
    type: Literal["supplement_requested"]
    reason: FreeText | None = None


class Supplemented(_Event):
    type: Literal["supplemented"]


DossierEvent = Annotated[
    Received
    | Transferred
    | Resolved
    | Digitized
    | Paid
    | Apologized
    | Extended
    | Withdrawn
    | SupplementRequested
    | Supplemented,
    Field(discriminator="type"),
]

EVENT_ADAPTER: TypeAdapter[DossierEvent] = TypeAdapter(DossierEvent)


def parse_event(raw: bytes | str) -> DossierEvent:
    """Parse one JSON event; raises pydantic.ValidationError naming the field."""
    return EVENT_ADAPTER.validate_json(raw)
