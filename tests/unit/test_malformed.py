"""Every kind of malformed message of the fault suite is refused by ingest.decode."""

from __future__ import annotations

import json
import random

import pytest

from tests.faults.malformed import KINDS, malformed
from tthc_monitor.core.engine import Engine
from tthc_monitor.ingest import Rejection, decode

GOOD = {
    "schema_version": 1,
    "event_id": "e-1",
    "type": "resolved",
    "dossier_id": "000.00.15.H50-220321-0001",
    "occurred_at": "2022-03-22T09:00:00+07:00",
    "unit_id": "so-tu-phap",
}


def test_the_base_event_is_good(engine: Engine) -> None:
    assert not isinstance(decode(json.dumps(GOOD).encode(), engine), Rejection)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_kind_is_refused_with_a_reason(kind: str, engine: Engine) -> None:
    raw = KINDS[kind](dict(GOOD))
    rejection = decode(raw, engine)
    assert isinstance(rejection, Rejection), kind
    assert rejection.reason
    # The reason never echoes the personal data a bad message may carry.
    assert "Nguyễn" not in rejection.reason


def test_the_storm_cycles_through_every_kind() -> None:
    made = malformed([GOOD], 3 * len(KINDS), random.Random(1))
    assert {name for name, _ in made} == set(KINDS)
