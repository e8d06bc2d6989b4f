"""Malformed messages of every kind we could think of, made from good events.

Each kind is a function of one good event (a dict) returning the raw bytes to publish
(``None``: a message without value, a tombstone). Every one must be refused by
``ingest.decode`` and end in the dead-letter topic (tests/unit/test_malformed.py checks
the first without Kafka, tests/faults/test_storm.py both with it).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

Event = dict[str, Any]


def _dump(event: Event) -> bytes:
    return json.dumps(event, ensure_ascii=False).encode()


def _with(**changes: Any) -> Callable[[Event], bytes]:
    return lambda e: _dump({**e, **changes})


def _without(name: str) -> Callable[[Event], bytes]:
    return lambda e: _dump({k: v for k, v in e.items() if k != name})


def _non_utf8(e: Event) -> bytes:
    return _dump(e).replace(b'"dossier_id": "', b'"dossier_id": "\xff\xfe', 1)


def _nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


KINDS: dict[str, Callable[[Event], bytes | None]] = {
    "not JSON": lambda e: b"dossier " + e["dossier_id"].encode() + b" received, see attachment",
    "truncated JSON": lambda e: _dump(e)[: len(_dump(e)) // 2],
    "trailing garbage": lambda e: _dump(e) + b"}}",
    "two objects in one message": lambda e: _dump(e) + _dump(e),
    "UTF-8 BOM": lambda e: b"\xef\xbb\xbf" + _dump(e),
    "UTF-16": lambda e: json.dumps(e).encode("utf-16"),
    "non-UTF-8 bytes": _non_utf8,
    "empty message": lambda e: b"",
    "tombstone (no value)": lambda e: None,
    "JSON array": lambda e: b"[" + _dump(e) + b"]",
    "JSON string": lambda e: json.dumps(json.dumps(e)).encode(),
    "JSON null": lambda e: b"null",
    "JSON number": lambda e: b"12345",
    "deeply nested JSON": lambda e: _nested(100_000),
    "deeply nested arrays": lambda e: b"[" * 200_000 + b"]" * 200_000,
    "NaN literal": lambda e: _dump(e)[:-1] + b', "amount_vnd": NaN}',
    "huge number literal": lambda e: _dump(e).replace(
        b'"schema_version": 1', b'"schema_version": 1' + b"0" * 5000, 1
    ),
    "schema_version as text": _with(schema_version="1"),
    "schema_version true": _with(schema_version=True),
    "schema_version 2": _with(schema_version=2),
    "dossier_id a number": _with(dossier_id=4242),
    "occurred_at a number": _with(occurred_at=1647828000),
    "unit_id a list": _with(unit_id=["so-tu-phap"]),
    "event_id null": _with(event_id=None),
    "missing event_id": _without("event_id"),
    "missing type": _without("type"),
    "missing occurred_at": _without("occurred_at"),
    "missing dossier_id": _without("dossier_id"),
    "unknown type": _with(type="stamped"),
    "unknown unit": _with(unit_id="ubnd-xa-khong-ton-tai"),
    "unknown procedure": lambda e: _dump(
        {
            **e,
            "type": "received",
            "procedure_id": "qt.khong-co.999",
            "channel": "online",
        }
    ),
    "date without offset": _with(occurred_at="2022-03-21T09:00:00"),
    "date only": _with(occurred_at="2022-03-21"),
    "not a date": _with(occurred_at="hôm qua"),
    "far-future date": _with(occurred_at="2999-03-21T09:00:00+07:00"),
    "placeholder year 9999": _with(occurred_at="9999-12-31T23:59:59+07:00"),
    "date before 2000": _with(occurred_at="1900-01-01T00:00:00+07:00"),
    "impossible date": _with(occurred_at="2022-02-30T09:00:00+07:00"),
    "oversized event_id": _with(event_id="E" * 20_000),
    "oversized dossier_id": _with(dossier_id="D" * 5_000),
    "oversized free text": lambda e: _dump({**e, "type": "withdrawn", "reason": "x" * 400_000}),
    "control character in event_id": _with(event_id="bad\u0000id"),
    "unknown extra field (personal data)": _with(citizen_name="Nguyễn Văn A"),
    "unknown extra field (nested)": _with(meta={"source": {"system": "x"}}),
    "huge amount": lambda e: _dump(
        {**e, "type": "paid", "channel": "one_stop", "amount_vnd": 10**40}
    ),
    "negative amount": lambda e: _dump(
        {**e, "type": "paid", "channel": "one_stop", "amount_vnd": -1}
    ),
    "bad channel": lambda e: _dump({**e, "type": "paid", "channel": "fax", "amount_vnd": 1}),
    "digitized result incomplete": lambda e: _dump(
        {**e, "type": "digitized", "target": "result", "complete": False}
    ),
}


def malformed(good: list[Event], count: int, rng: random.Random) -> list[tuple[str, bytes | None]]:
    """``count`` bad messages cycling through every kind, each made from a random good
    event (so its ids look real: a dossier of the stream, mostly)."""
    names = sorted(KINDS)
    out: list[tuple[str, bytes | None]] = []
    for index in range(count):
        name = names[index % len(names)]
        base = dict(rng.choice(good))
        # Ids of their own: a bad message must never pass for a good event's redelivery.
        base["event_id"] = f"bad-{index}"
        out.append((name, KINDS[name](base)))
    return out
