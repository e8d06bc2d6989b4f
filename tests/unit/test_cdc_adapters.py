"""The pure parts of the CDC adapters: the translator's message decoding and the
generator's sampling and wall-clock conversion (the I/O is in tests/integration; the
translator's whole chain in tests/unit/test_cdc_pipeline.py)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from tthc_monitor.cdc.generator import local, subset
from tthc_monitor.cdc.mapping import OneStopMapping, load
from tthc_monitor.pipeline import Position, Raw, Translated
from tthc_monitor.pipeline.translate import decode_envelope, translate_envelope

ROOT = Path(__file__).resolve().parents[2]
MAPPING = load(ROOT / "examples" / "one-stop" / "mapping.toml")


def translate_message(value: bytes | None, topic: str, mapping: OneStopMapping) -> Translated:
    return translate_envelope(decode_envelope(Raw(Position(topic, 0, 0), value), mapping), mapping)


def test_tombstones_are_skipped_and_garbage_is_unmapped() -> None:
    tombstone = translate_message(None, "onestop.public.dossier", MAPPING)
    assert (tombstone.events, tombstone.rejection) == ((), None)
    garbage = translate_message(b"\xff{", "onestop.public.dossier", MAPPING)
    assert garbage.events == () and garbage.rejection is not None
    assert garbage.rejection.reason == "dossier: message is not JSON"


def test_the_topic_names_the_table() -> None:
    row = {
        "id": 1,
        "dossier_code": "D-1",
        "action_code": "transfer",
        "from_unit_code": "a",
        "to_unit_code": "b",
        "step_due_at": None,
        "acted_at": 1_649_000_000_000_000,
    }
    value = json.dumps({"op": "c", "before": None, "after": row}).encode()
    translated = translate_message(value, "onestop.public.processing_log", MAPPING)
    assert [e["type"] for e in translated.events] == ["transferred"]
    other = translate_message(value, "elsewhere.public.processing_log", MAPPING)
    assert other.rejection is not None
    assert other.rejection.reason == "row change: no mapping for this table"


def test_local_wall_clock_of_an_instant() -> None:
    assert local("2022-04-04T01:00:00Z") == datetime(2022, 4, 4, 8, 0)
    assert local("2022-04-04T08:00:00+07:00") == datetime(2022, 4, 4, 8, 0)
    assert local(None) is None


def test_subset_keeps_whole_histories_with_a_stride() -> None:
    events = []
    for n in range(6):
        events.append({"type": "received", "dossier_id": f"D{n}"})
    for n in range(6):
        events.append({"type": "resolved", "dossier_id": f"D{n}"})
    chosen = subset(events, dossiers=2, every=2)
    assert [(e["type"], e["dossier_id"]) for e in chosen] == [
        ("received", "D0"),
        ("received", "D2"),
        ("resolved", "D0"),
        ("resolved", "D2"),
    ]
    assert len(subset(events, dossiers=100)) == 12
