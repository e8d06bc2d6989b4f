"""What a row change the mapping cannot read is, as the pipeline's dead letter.

The translator's dead letters go through the worker's ``DeadLetters`` step and its
envelope (``streams/dead_letters.py``: the reason in headers and, by default, a reference
to the source message instead of its bytes, since a captured row may hold personal
data). This module only says *why*, as a ``Rejection``: one per message, however many of
its rules failed, so that a message is one dead letter and one log line.
``field`` names the source column, prefixed with ``table.rule``, so the mapping file's
author sees where to look.
"""

from __future__ import annotations

from collections.abc import Sequence

from tthc_monitor.cdc.translate import Unmapped
from tthc_monitor.ingest import Rejection


def where(unmapped: Unmapped) -> str:
    """``table.rule.column``, the parts known."""
    return ".".join(p for p in (unmapped.table, unmapped.rule, unmapped.column) if p)


def rejection(unmapped: Sequence[Unmapped]) -> Rejection:
    """The rejection of a message whose rules ``unmapped`` could not be applied.

    Several failures of one change are one letter (the message is delivered once): the
    reasons joined by "; ", the places by ", ", the first event id known."""
    if not unmapped:
        raise ValueError("a rejection needs at least one reason")
    places = list(dict.fromkeys(where(u) for u in unmapped if where(u)))
    event_ids = [u.event_id for u in unmapped if u.event_id]
    return Rejection(
        reason="; ".join(u.describe() for u in unmapped),
        event_id=event_ids[0] if event_ids else None,
        field=", ".join(places) or None,
        kind="invalid",
    )
