"""The deadline alert message (topic ``dossier-alerts`` and the webhook), contract v1.

Ids only: an alert names the dossier and the unit by their system codes and never
carries personal data. ``alert_id`` is stable across restarts and redeliveries, so a
consumer dedupes on it (delivery is at-least-once).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class AlertMessage(BaseModel):
    """One deadline alert (docs/alerts.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1]
    alert_id: Annotated[str, Field(min_length=1, max_length=64)]
    """Stable per (dossier, stage, stage index, level, due): dedupe on it."""
    level: Literal["due_soon", "due_today", "overdue", "apology_missing"]
    dossier_id: Annotated[str, Field(min_length=1, max_length=128)]
    unit_id: Annotated[str, Field(min_length=1, max_length=64)]
    """The unit warned: the owner (stage ``owner``) or the stage holder."""
    stage: Literal["owner", "interagency"]
    fire_at: AwareDatetime
    """When the rules say the alert fires (it may be sent later, never earlier)."""
    due_at: AwareDatetime
    """The due the alert is about."""
