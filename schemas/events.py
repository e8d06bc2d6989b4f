"""Dossier lifecycle events, contract v1 (see docs/contract.md).

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
EventId = Annotated[str, Field(min_length=1, max_length=128)]
UnitId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]*$")]
FreeText = Annotated[str, Field(max_length=200)]


def _has_offset(value: datetime) -> datetime:
    # AwareDatetime already refuses naive values; this keeps the rule explicit
    # for readers of the model: RFC 3339 requires an offset.
    if value.utcoffset() is None:  # pragma: no cover - AwareDatetime guards it
        raise ValueError("timestamp needs an offset")
    return value


Timestamp = Annotated[AwareDatetime, AfterValidator(_has_offset)]


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
    amount_vnd: Annotated[StrictInt, Field(ge=0)]


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
