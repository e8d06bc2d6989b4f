"""What travels between the steps: a raw message, then what it turned out to be."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from schemas.events import DossierEvent
from tthc_monitor.ingest import Rejection
from tthc_monitor.pipeline.position import Position


@dataclass(frozen=True)
class Raw:
    """A message as a source delivers it."""

    position: Position
    value: bytes | None
    key: bytes | None = None
    timestamp: float | None = None
    """Seconds since the epoch when the broker received it (None: unknown)."""
    carrier: Any = None
    """The source's own object (a Faust event to ack, say); the steps never look inside."""


@dataclass(frozen=True)
class Decoded:
    """One message and what it is: an event, or a dead letter and why."""

    raw: Raw
    event: DossierEvent | None
    rejection: Rejection | None

    @property
    def position(self) -> Position:
        return self.raw.position

    @property
    def source(self) -> str:
        return self.raw.position.source

    @property
    def offset(self) -> int:
        return self.raw.position.offset

    @property
    def where(self) -> str:
        return self.raw.position.where

    def rejected(self, rejection: Rejection) -> Decoded:
        """The same message, now a dead letter (the rules failed on its dossier)."""
        return replace(self, rejection=rejection)


@dataclass
class Work:
    """One batch on its way through an attempt: rebuilt from ``items`` on every attempt,
    so a retried batch starts clean."""

    items: list[Decoded]
    fresh: list[Decoded] = field(default_factory=list)
    """The events to write: beyond the recorded progress (the ledger decides)."""
    groups: dict[str, list[Decoded]] = field(default_factory=dict)
    """``fresh`` by dossier id, in arrival order."""
    letters: list[Decoded] = field(default_factory=list)
    """Dead letters: invalid messages, and the events of dossiers the rules failed on."""
    letters_sent: int = 0
    """How many of ``letters`` this attempt handed to the sink."""
    applied: int = 0
    duplicates: int = 0
    conflicts: int = 0
    refused: list[tuple[str, str, str]] = field(default_factory=list)
    """(dossier_id, event_id, reason) the store refused (out of sequence, event id of
    another dossier, compacted dossier)."""
    submitted: int = 0
    """Events in the store call that succeeded."""
    written_at: float = 0.0
    """time.time() when the store call returned."""
