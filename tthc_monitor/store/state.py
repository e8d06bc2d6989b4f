"""How one dossier's state is kept in Redis: a single string, small enough for millions.

The value is ``{version}:`` followed by a format byte and the zlib-compressed JSON
``[events, contribution, scheduled alerts, due-index entries]``. Why one string: a hash
of five fields with values over 64 bytes is stored as a hashtable in Redis, and the
fields' overhead alone cost more than the compressed data (docs/benchmarks.md, "Memory").
Only the version prefix is read by Lua (the write's guard); the rest is opaque to Redis.

The preset dictionary holds the strings every state repeats (field names, event types,
metric names), so even a one-event dossier compresses well. It is part of the format:
changing it needs a new format byte, never an edit of ``DICTIONARY_V1``.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

FORMAT_V1 = b"\x01"
FORMAT_TOMBSTONE = b"\x02"
"""A compacted dossier (docs/redis-layout.md, "Retention"): only its event ids."""
LEVEL = 1
"""zlib's fastest level: the write path is CPU-bound; level 6 saves only ~8% more."""

_FIELDS = (
    "schema_version", "event_id", "dossier_id", "occurred_at", "unit_id", "type",
    "procedure_id", "channel", "due_at", "stage_due_at", "to_unit_id", "target", "complete",
    "amount_vnd", "new_due_at", "new_appointment_at", "result",
)  # fmt: skip
_VALUES = (
    "received", "transferred", "resolved", "digitized", "paid", "apologized", "extended",
    "withdrawn", "supplement_requested", "supplemented", "direct", "online", "postal",
    "national_portal", "one_stop", "offline", "approved", "rejected", "components",
)  # fmt: skip
_METRICS = (
    "received_direct", "received_online", "received_postal", "received_interagency",
    "transferred_out", "resolved_early", "resolved_on_time", "resolved_late",
    "late_as_initial", "open_delta", "overdue_delta", "fee_dossiers", "dig_received",
    "dig_with_components", "dig_fully", "dig_resolved", "dig_results", "land_received",
    "land_open_delta", "land_overdue_delta", "land_resolved_late", "day_received",
    "day_resolved", "dossiers",
)  # fmt: skip
DICTIONARY_V1 = (
    "".join(f'"{name}":' for name in _FIELDS)
    + "".join(f'"{value}"' for value in _VALUES)
    + "|".join(_METRICS)
    + 'T07:00:00+07:00"T17:00:00+07:00"},{"'
).encode()


@dataclass(frozen=True)
class DossierState:
    version: int = 0
    """0: the dossier was never written."""
    events: list[dict[str, Any]] = field(default_factory=list)
    contribution: dict[str, int] = field(default_factory=dict)
    alerts: dict[str, float] = field(default_factory=dict)
    """``{"@": last fire time planned}`` when the dossier has alerts (its plan record
    lives in ``{ns}:alert``, docs/alerts.md); in a state written before issue 15, each
    scheduled alert id -> its fire time (epoch seconds)."""
    index: list[list[Any]] = field(default_factory=list)
    """Entries in the per-unit due index: [unit_id, member, due]; and, once the dossier is
    closed, one entry [``@closed:{period}``, dossier_id, close time] of the closed index
    (the compaction job's list of candidates, ``{ns}:closed:{period}``)."""
    compacted: bool = False
    """A tombstone: the dossier was compacted; ``event_ids`` and ``refused_ids`` are all
    that is left of it (``events``, ``contribution``, ... are empty)."""
    event_ids: frozenset[str] = frozenset()
    refused_ids: frozenset[str] = frozenset()
    """Ids of events refused after compaction (recorded once: a redelivery is a duplicate)."""


def encode_state(
    events: list[dict[str, Any]],
    contribution: dict[str, int],
    alerts: Mapping[str, float],
    index: list[list[Any]],
) -> bytes:
    """The value after the version prefix (Lua writes ``{version}:`` in front)."""
    compressor = zlib.compressobj(LEVEL, zdict=DICTIONARY_V1)
    body = orjson.dumps([events, contribution, alerts, index], option=orjson.OPT_SORT_KEYS)
    return FORMAT_V1 + compressor.compress(body) + compressor.flush()


def encode_tombstone(
    dossier_id: str, event_ids: Iterable[str], refused_ids: Iterable[str] = ()
) -> bytes:
    """A compacted dossier: its event ids exactly (no probabilistic filter: a false
    positive would drop a real event), sorted, newline-separated; then, after an empty
    line, the ids refused since. Raw deflate with the dossier id as preset dictionary
    (event ids usually repeat it): about 20 bytes for the simulated month's 3.7 ids a
    dossier, against 51 with plain zlib."""
    body = "\n".join(sorted(event_ids))
    refused = sorted(refused_ids)
    if refused:
        body += "\n\n" + "\n".join(refused)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15, zdict=dossier_id.encode())
    return FORMAT_TOMBSTONE + compressor.compress(body.encode()) + compressor.flush()


def decode_state(raw: bytes | None, dossier_id: str | None = None) -> DossierState:
    """Read a stored value (``None``: no such dossier). A tombstone's ids are read only
    given its ``dossier_id`` (its dictionary); without, it is only marked compacted."""
    if raw is None:
        return DossierState()
    version, sep, rest = raw.partition(b":")
    if sep and version.isdigit() and rest[:1] == FORMAT_TOMBSTONE:
        if dossier_id is None:
            return DossierState(int(version), compacted=True)
        decompressor = zlib.decompressobj(-15, zdict=dossier_id.encode())
        body = decompressor.decompress(rest[1:]) + decompressor.flush()
        if not decompressor.eof:
            raise ValueError("not a complete tombstone")
        text = body.decode()
        known, _, refused = text.partition("\n\n")
        return DossierState(
            int(version),
            compacted=True,
            event_ids=frozenset(known.split("\n")) if known else frozenset(),
            refused_ids=frozenset(refused.split("\n")) if refused else frozenset(),
        )
    if not sep or not version.isdigit() or rest[:1] != FORMAT_V1:
        raise ValueError("not a dossier state of format 1")
    decompressor = zlib.decompressobj(zdict=DICTIONARY_V1)
    events, contribution, alerts, index = orjson.loads(decompressor.decompress(rest[1:]))
    return DossierState(int(version), events, contribution, alerts, index)
