"""The dead letter of a row change the mapping cannot turn into an event.

Same envelope as the worker's dead letters (``streams/dead_letters.py``): the reason in
headers and, by default, a reference to the source message (topic, partition, offset,
hash) instead of its bytes, because a captured row may hold personal data. ``tthc-field``
names the source column, prefixed with ``table.rule``, so the mapping file's author sees
where to look.
"""

from __future__ import annotations

import hashlib
import json

from tthc_monitor.cdc.translate import Unmapped


def dead_letter(
    unmapped: Unmapped,
    value: bytes | None,
    key: bytes | None,
    source: tuple[str, int, int],
    payload: str = "reference",
) -> tuple[bytes | None, bytes, dict[str, bytes]]:
    """Key, value and headers of the dead letter for one ``Unmapped`` of a message."""
    original = value or b""
    digest = hashlib.sha256(original).hexdigest()
    topic, partition, offset = source
    where = ".".join(p for p in (unmapped.table, unmapped.rule, unmapped.column) if p)
    headers = {
        "tthc-reason": unmapped.describe().encode("utf-8"),
        "tthc-field": where.encode("utf-8"),
        "tthc-event-id": (unmapped.event_id or "").encode("utf-8"),
        "tthc-source": f"{topic}:{partition}:{offset}".encode(),
        "tthc-sha256": digest.encode(),
        "tthc-payload": payload.encode(),
    }
    if payload == "copy":
        return key, original, headers
    body = json.dumps(
        {
            "reason": unmapped.describe(),
            "field": where or None,
            "event_id": unmapped.event_id,
            "topic": topic,
            "partition": partition,
            "offset": offset,
            "sha256": digest,
            "size": len(original),
        },
        ensure_ascii=False,
    ).encode("utf-8")
    return None, body, headers
