"""The stored form of a dossier's state (tthc_monitor/store/state.py)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tthc_monitor.store.state import DossierState, decode_state, encode_state, encode_tombstone

texts = st.text(max_size=40)
# JSON numbers of the contract fit 64 bits (amounts in VND, counts).
numbers = st.integers(min_value=-(2**63), max_value=2**63 - 1)
events = st.lists(st.dictionaries(texts, st.one_of(texts, numbers, st.booleans())))
contributions = st.dictionaries(texts, st.integers(min_value=-(2**40), max_value=2**40))
alerts = st.dictionaries(texts, st.integers(min_value=0, max_value=2**33))
index = st.lists(st.tuples(texts, texts, st.integers(min_value=0, max_value=2**33)).map(list))


@given(events, contributions, alerts, index, st.integers(min_value=1, max_value=10**9))
def test_a_state_reads_back_as_written(
    events: list[dict[str, Any]],
    contribution: dict[str, int],
    alerts: dict[str, float],
    index: list[list[Any]],
    version: int,
) -> None:
    # Lua puts "{version}:" in front of what the store encodes.
    raw = f"{version}:".encode() + encode_state(events, contribution, alerts, index)
    assert decode_state(raw) == DossierState(version, events, contribution, alerts, index)


def test_a_missing_dossier_is_version_zero_and_empty() -> None:
    assert decode_state(None) == DossierState()


def test_a_one_event_dossier_is_small() -> None:
    event = {
        "schema_version": 1,
        "event_id": "000.00.LD.H50-211001-06413-00",
        "type": "received",
        "dossier_id": "000.00.LD.H50-211001-06413",
        "occurred_at": "2021-10-01T07:00:00+07:00",
        "unit_id": "cn-vpdkdd-huong-hoa",
        "procedure_id": "qt.so-tai-nguyen-va-moi-truong.019",
        "channel": "direct",
        "due_at": "2022-03-10T17:00:00+07:00",
    }
    contribution = {
        "2021-10|cn-vpdkdd-huong-hoa|received_direct": 1,
        "2021-10|cn-vpdkdd-huong-hoa|open_delta": 1,
        "all||dossiers": 1,
    }
    encoded = encode_state([event], contribution, {}, [])
    plain = len(str([event, contribution]))
    assert len(encoded) < plain / 2


# Format 2 is a tombstone (its body is checked when read with its dossier id, below).
@pytest.mark.parametrize("raw", [b"", b"7", b"x:\x01abc", b"3:\x03abc", b"3:\x01not zlib"])
def test_anything_else_is_refused(raw: bytes) -> None:
    with pytest.raises(Exception):  # noqa: B017 - ValueError or zlib.error, both refuse
        decode_state(raw)


def test_tombstone_round_trip() -> None:
    ids = ["D-1-00", "D-1-01", "D-1-02"]
    raw = b"4:" + encode_tombstone("D-1", reversed(ids), ["D-1-09"])
    state = decode_state(raw, "D-1")
    assert (state.version, state.compacted) == (4, True)
    assert state.event_ids == frozenset(ids) and state.refused_ids == {"D-1-09"}
    assert (state.events, state.contribution, state.alerts, state.index) == ([], {}, {}, [])
    assert decode_state(raw).compacted  # without its id: known compacted, ids not read
    assert decode_state(b"1:" + encode_tombstone("D-1", [])).event_ids == frozenset()
    with pytest.raises(Exception):  # noqa: B017 - zlib.error
        decode_state(b"3:\x02abc", "D-1")
