"""The wire contract: pydantic models for dossier events and reference tables.

The JSON Schema files beside this module are generated from these models
(`python -m schemas.generate`) and committed; a test keeps them equal.
"""

from schemas.events import (
    EVENT_TYPES,
    Apologized,
    Digitized,
    DossierEvent,
    Extended,
    Paid,
    Received,
    Resolved,
    Supplemented,
    SupplementRequested,
    Transferred,
    Withdrawn,
    parse_event,
)
from schemas.reference import CalendarAdjustment, Procedure, Unit

__all__ = [
    "EVENT_TYPES",
    "Apologized",
    "CalendarAdjustment",
    "Digitized",
    "DossierEvent",
    "Extended",
    "Paid",
    "Procedure",
    "Received",
    "Resolved",
    "SupplementRequested",
    "Supplemented",
    "Transferred",
    "Unit",
    "Withdrawn",
    "parse_event",
]
