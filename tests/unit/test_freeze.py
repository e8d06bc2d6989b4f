"""Frozen snapshots and adjustments: the pure parts (core.freeze, the call layout) and
their stored forms (store.freeze_codec)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from tthc_monitor.cli.main import build_parser
from tthc_monitor.core.engine import Engine
from tthc_monitor.core.freeze import (
    Adjustment,
    VersionInfo,
    adjustment_horizon,
    closed_changes,
    covered_periods,
    due_periods,
    frozen_snapshot,
    has_ended,
    sort_adjustments,
)
from tthc_monitor.core.periods import LOCAL_TZ, PeriodScheme
from tthc_monitor.core.snapshot import build_snapshot
from tthc_monitor.store.freeze_codec import (
    decode_adjustment,
    decode_version_info,
    encode_document,
    encode_version_info,
)
from tthc_monitor.store.keys import Keys
from tthc_monitor.store.redis_store import batch_script
from tthc_monitor.store.snapshots import SnapshotKeys, adjusting_call

SCHEME = PeriodScheme(15)
COUNTERS = {
    "2022-03": {"so-tu-phap|open_delta": 2},
    "2022-04": {"so-tu-phap|received_online": 3, "so-tu-phap|open_delta": 1},
}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=LOCAL_TZ)


def test_frozen_document_is_the_live_one_plus_its_version(engine: Engine) -> None:
    as_of = at("2022-04-17 00:00")
    for months in (1, 3):
        frozen = frozen_snapshot(
            "2022-04", SCHEME, engine.registry, COUNTERS, as_of, months, version=2
        )
        live = build_snapshot("2022-04", SCHEME, engine.registry, COUNTERS, as_of, months)
        assert frozen.pop("version") == 2
        assert frozen == live
    document = frozen_snapshot("2022-04", SCHEME, engine.registry, COUNTERS, as_of, 1, 1)
    keys = list(document)
    assert keys[keys.index("as_of") + 1] == "version"  # next to the instant it names


def test_stored_form_is_deterministic_and_round_trips(engine: Engine) -> None:
    as_of = at("2022-04-17 00:00")
    one = frozen_snapshot("2022-04", SCHEME, engine.registry, COUNTERS, as_of, 1, 1)
    two = frozen_snapshot("2022-04", SCHEME, engine.registry, dict(COUNTERS), as_of, 1, 1)
    assert encode_document(one) == encode_document(two)
    assert json.loads(encode_document(one)) == one
    assert "Sở Tư pháp" in encode_document(one)  # UTF-8, not escapes


def test_due_periods_wait_for_end_plus_grace() -> None:
    periods = ["2022-03", "2022-04", "2022-05", "all"]
    grace = timedelta(days=2)
    # 2022-04 ends 2022-04-15 00:00 local time: due from 2022-04-17 00:00.
    assert due_periods(periods, SCHEME, at("2022-04-16 23:59"), grace) == ["2022-03"]
    assert due_periods(periods, SCHEME, at("2022-04-17 00:00"), grace) == ["2022-03", "2022-04"]
    assert due_periods(periods, SCHEME, at("2022-04-15 00:00"), timedelta(0)) == [
        "2022-03",
        "2022-04",
    ]
    assert not has_ended("2022-04", SCHEME, at("2022-04-14 23:59"))
    assert has_ended("2022-04", SCHEME, at("2022-04-15 00:00"))


def test_horizon_covers_the_clock_skew_margin() -> None:
    assert adjustment_horizon(SCHEME, at("2022-04-20 12:00")) == "2022-05"
    # Within the last hour of 2022-04 a write to 2022-04 is already checked.
    assert adjustment_horizon(SCHEME, at("2022-04-14 23:30")) == "2022-05"
    assert adjustment_horizon(SCHEME, at("2022-04-14 22:30")) == "2022-04"


def test_closed_changes_split_by_period_and_skip_open_and_global() -> None:
    changes = {
        "2022-03|so-tu-phap|open_delta": -1,
        "2022-04|so-tu-phap|resolved_late": 1,
        "2022-04|so-tu-phap|open_delta": -1,
        "2022-05|so-tu-phap|apologized": 1,
        "all||refused_events": 1,
    }
    assert closed_changes(changes, "2022-05") == {
        "2022-03": {"so-tu-phap|open_delta": -1},
        "2022-04": {"so-tu-phap|resolved_late": 1, "so-tu-phap|open_delta": -1},
    }
    assert closed_changes(changes, "2022-03") == {}


def test_covered_periods() -> None:
    assert covered_periods("2022-01", 3) == ["2021-11", "2021-12", "2022-01"]
    assert covered_periods("2022-04", 1) == ["2022-04"]


def test_version_and_adjustment_records_round_trip() -> None:
    info = VersionInfo("2022-04", 3, 2, "2022-04-17T00:00:00+07:00", "auto", 5)
    assert decode_version_info("2022-04", encode_version_info(info)) == info
    # What record_adjustments.lua stores (cjson: key order is not kept).
    stored = json.dumps(
        {
            "after": {"3": 1, "1": 2},
            "changes": {"so-tu-phap|received_online": 1},
            "applied_at": "2022-04-18T09:00:00+07:00",
            "dossier_id": "D1",
            "event_ids": ["e1", "e2"],
            "event_id": "e1",
        }
    )
    adjustment = decode_adjustment("2022-04", stored)
    assert adjustment.after == {1: 2, 3: 1}
    assert adjustment.event_ids == ("e1", "e2")
    assert adjustment.as_dict()["after"] == {"1": 2, "3": 1}
    later = Adjustment("2022-04", "e0", ("e0",), "D0", "2022-04-19T00:00:00+07:00", {}, {})
    assert sort_adjustments([later, adjustment]) == [adjustment, later]


def test_adjusting_call_layout() -> None:
    """record_adjustments.lua finds the apply arguments and each period's counter hash."""
    keys = ["ns:d:D1", "ns:periods", "ns:eid", "ns:p:2022-04", "ns:g", "ns:p:2022-03"]
    # version, events, contribution, dossier, 1 fresh id, 2 periods, then the changes
    args = [0, "[]", "{}", "D1", 1, "e1", 2, "2022-03", "2022-04"]
    triples = ["4\tu|received_online\t1\n5\t|dossiers\t1\n6\tu|open_delta\t1\n"]
    record = {"event_id": "e1", "event_ids": ["e1"], "dossier_id": "D1", "applied_at": "t"}
    all_keys, all_args = adjusting_call(
        keys,
        [*args, *triples],
        ["2022-04", "2022-03"],
        SnapshotKeys("ns"),
        Keys("ns").counters,
        record,
    )
    assert all_keys == [
        *keys,
        "ns:snap:2022-03",
        "ns:adj:2022-03",
        "ns:snap:2022-04",
        "ns:adj:2022-04",
    ]
    count = len(args) + len(triples)
    assert all_args[:3] == [len(keys), count, count]
    assert all_args[3 : 3 + count] == [*args, *triples]
    assert json.loads(all_args[3 + count]) == record
    assert all_args[4 + count :] == [6, 4]  # counter hashes of 2022-03 and 2022-04


def test_batch_script_holds_the_write_rules_once() -> None:
    source = batch_script()
    assert source.startswith("local function apply_dossier(KEYS, ARGV)\n")
    assert source.count("local version = current + 1") == 1
    assert "local function record_adjustments(KEYS, ARGV)" in source
    assert "apply_dossier(apply_keys, apply_args)" in source
    assert "record_adjustments(keys, args)" in source


@pytest.mark.parametrize(
    "argv",
    [
        ["--freeze", "--versions"],
        ["--version", "1", "--adjustments"],
        ["--freeze", "--version", "2"],
    ],
)
def test_snapshot_modes_exclude_each_other(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["snapshot", "--period", "2022-04", *argv])


def test_snapshot_defaults_keep_the_live_read() -> None:
    args = build_parser().parse_args(["snapshot", "--period", "2022-04"])
    assert (args.freeze, args.version, args.versions, args.adjustments) == (
        False,
        None,
        False,
        False,
    )
    assert args.months is None  # read as 1 month
