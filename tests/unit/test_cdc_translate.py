"""The pure CDC core: Debezium row changes of the sample one-stop schema → contract events."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tthc_monitor.cdc.dead_letter import rejection
from tthc_monitor.cdc.mapping import MappingError, OneStopMapping, load, parse
from tthc_monitor.cdc.translate import UNAVAILABLE, Translation, event_id, translate, unavailable

ROOT = Path(__file__).resolve().parents[2]
MAPPING = load(ROOT / "examples" / "one-stop" / "mapping.toml")
EPOCH = datetime(1970, 1, 1)


def micros(local: str) -> int:
    """How Debezium encodes a `timestamp without time zone` (wall clock as if UTC)."""
    return int((datetime.fromisoformat(local) - EPOCH).total_seconds() * 1_000_000)


def dossier(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "dossier_code": "000.00.18.H50-220401-0001",
        "unit_code": "so-tu-phap",
        "procedure_code": "qt.so-tu-phap.001",
        "channel_code": "1",
        "applicant_ref": "ref-0000001",
        "subject": "Hồ sơ",
        "status_code": "2",
        "submitted_at": None,
        "received_at": micros("2022-04-04T08:00:00"),
        "appointment_at": micros("2022-04-08T17:00:00"),
        "step_due_at": None,
        "holder_unit_code": "so-tu-phap",
        "supplement_requested_at": None,
        "supplemented_at": None,
        "extended_due_at": None,
        "extended_at": None,
        "digitization_code": None,
        "components_digitized_at": None,
        "result_digitized_at": None,
        "result_code": None,
        "finished_at": None,
        "returned_at": None,
        "withdrawn_at": None,
        "sync_flag": "0",
        "created_at": micros("2022-04-04T08:00:00"),
        "updated_at": None,
        "deleted_at": None,
        "delete_reason": None,
    }
    row.update(overrides)
    return row


def change(op: str, before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, Any]:
    return {"op": op, "before": before, "after": after, "source": {"table": "x"}, "ts_ms": 0}


def run(table: str, envelope: object, mapping: OneStopMapping = MAPPING) -> Translation:
    return translate(envelope, table, mapping)


def only(result: Translation) -> dict[str, Any]:
    assert result.unmapped == []
    assert len(result.events) == 1, result.events
    return result.events[0]


def test_insert_at_the_counter_is_received_with_local_times() -> None:
    event = only(run("dossier", change("c", None, dossier())))
    assert event["type"] == "received"
    assert event["dossier_id"] == "000.00.18.H50-220401-0001"
    assert event["unit_id"] == "so-tu-phap"
    assert event["procedure_id"] == "qt.so-tu-phap.001"
    assert event["channel"] == "direct"
    # Local wall clock, written with Vietnam's offset: the same instant the clerk saw.
    assert event["occurred_at"] == "2022-04-04T08:00:00+07:00"
    assert event["due_at"] == "2022-04-08T17:00:00+07:00"
    assert "stage_due_at" not in event  # required = false and null
    assert event["schema_version"] == 1


@pytest.mark.parametrize(("code", "channel"), [("1", "direct"), ("2", "online"), ("3", "postal")])
def test_channel_codes(code: str, channel: str) -> None:
    assert only(run("dossier", change("c", None, dossier(channel_code=code))))["channel"] == channel


def test_online_submission_is_no_event_until_received() -> None:
    draft = dossier(status_code="1", received_at=None, procedure_code="CHUA-XAC-DINH")
    assert run("dossier", change("c", None, draft)).events == []
    # The receiving update corrects the provisional procedure code in the same statement.
    received = dossier(status_code="2", channel_code="2")
    event = only(run("dossier", change("u", draft, received)))
    assert (event["type"], event["procedure_id"]) == ("received", "qt.so-tu-phap.001")


def test_noise_updates_give_no_event() -> None:
    row = dossier()
    edited = dossier(subject="Hồ sơ (đã sửa)", sync_flag="1", updated_at=micros("2022-04-05T09:00"))
    assert run("dossier", change("u", row, edited)) == Translation()


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        (
            {"supplement_requested_at": micros("2022-04-05T09:00"), "status_code": "5"},
            {"type": "supplement_requested"},
        ),
        (
            {"supplemented_at": micros("2022-04-06T09:00"), "status_code": "4"},
            {"type": "supplemented"},
        ),
        (
            {
                "extended_due_at": micros("2022-04-20T17:00"),
                "extended_at": micros("2022-04-07T10:00"),
            },
            {
                "type": "extended",
                "new_due_at": "2022-04-20T17:00:00+07:00",
                "occurred_at": "2022-04-07T10:00:00+07:00",
            },
        ),
        (
            {"components_digitized_at": micros("2022-04-04T09:00"), "digitization_code": "2"},
            {"type": "digitized", "target": "components", "complete": True},
        ),
        (
            {"components_digitized_at": micros("2022-04-04T09:00"), "digitization_code": "3"},
            {"type": "digitized", "target": "components", "complete": False},
        ),
        (
            {"result_digitized_at": micros("2022-04-07T09:00")},
            {"type": "digitized", "target": "result", "complete": True},
        ),
        (
            {"status_code": "10", "returned_at": micros("2022-04-07T15:00")},
            {"type": "resolved", "occurred_at": "2022-04-07T15:00:00+07:00"},
        ),
        (
            {"status_code": "10", "returned_at": micros("2022-04-07T15:00"), "result_code": "0"},
            {"type": "resolved", "result": "rejected"},
        ),
        (
            {"status_code": "3", "withdrawn_at": micros("2022-04-06T11:00")},
            {"type": "withdrawn", "unit_id": "so-tu-phap"},
        ),
    ],
)
def test_each_dossier_rule(columns: dict[str, Any], expected: dict[str, Any]) -> None:
    before = dossier()
    event = only(run("dossier", change("u", before, dossier(**columns))))
    assert {k: event.get(k) for k in expected} == expected


def test_holder_gives_the_unit_of_clock_stops() -> None:
    after = dossier(
        holder_unit_code="ubnd-huyen-cam-lo", supplement_requested_at=micros("2022-04-05T09:00")
    )
    assert only(run("dossier", change("u", dossier(), after)))["unit_id"] == "ubnd-huyen-cam-lo"


def test_transfer_from_the_append_only_log() -> None:
    row = {
        "id": 17,
        "dossier_code": "D-1",
        "action_code": "transfer",
        "from_unit_code": "so-tu-phap",
        "to_unit_code": "ubnd-huyen-cam-lo",
        "step_due_at": micros("2022-04-06T17:00"),
        "acted_at": micros("2022-04-05T10:30"),
        "deleted_at": None,
    }
    event = only(run("processing_log", change("c", None, row)))
    assert event["type"] == "transferred"
    assert (event["unit_id"], event["to_unit_id"]) == ("so-tu-phap", "ubnd-huyen-cam-lo")
    assert event["stage_due_at"] == "2022-04-06T17:00:00+07:00"
    # Other actions of the log are not events.
    assert run("processing_log", change("c", None, {**row, "action_code": "receive"})).events == []


def payment(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": 5,
        "dossier_code": "D-1",
        "request_code": "YC-1",
        "amount": 50_000,
        "channel_code": "dvcqg",
        "status": "Chờ thanh toán",
        "unit_code": "so-tu-phap",
        "requested_at": micros("2022-04-05T08:00"),
        "paid_at": None,
        "deleted_at": None,
    }
    row.update(overrides)
    return row


def test_payment_request_then_paid() -> None:
    assert run("payment_request", change("c", None, payment())).events == []
    paid = payment(status="Đã thanh toán", paid_at=micros("2022-04-05T08:30"))
    event = only(run("payment_request", change("u", payment(), paid)))
    assert (event["type"], event["channel"], event["amount_vnd"]) == (
        "paid",
        "national_portal",
        50_000,
    )
    # A second save of the paid request is no second payment.
    assert run("payment_request", change("u", paid, {**paid, "request_code": "YC-1b"})).events == []


@pytest.mark.parametrize(("code", "channel"), [("mot-cua", "one_stop"), ("tien-mat", "offline")])
def test_payment_channels(code: str, channel: str) -> None:
    paid = payment(status="Đã thanh toán", paid_at=micros("2022-04-05T08:30"), channel_code=code)
    assert only(run("payment_request", change("c", None, paid)))["channel"] == channel


def test_apology_issued_carries_the_new_appointment() -> None:
    draft = {
        "id": 3,
        "dossier_code": "D-1",
        "unit_code": "so-tu-phap",
        "kind": "Xin lỗi",
        "new_appointment_at": micros("2022-04-15T17:00"),
        "state": "Chờ ký duyệt",
        "created_at": micros("2022-04-08T08:00"),
        "issued_at": None,
    }
    assert run("apology_draft", change("c", None, draft)).events == []
    issued = {**draft, "state": "Đã ban hành", "issued_at": micros("2022-04-08T10:00")}
    event = only(run("apology_draft", change("u", draft, issued)))
    assert event["type"] == "apologized"
    assert event["new_appointment_at"] == "2022-04-15T17:00:00+07:00"


def test_one_update_with_several_columns_gives_events_in_sequence_order() -> None:
    before = dossier(supplement_requested_at=micros("2022-04-05T09:00"), status_code="5")
    after = dossier(
        supplement_requested_at=micros("2022-04-05T09:00"),
        supplemented_at=micros("2022-04-06T09:00"),
        extended_due_at=micros("2022-04-20T17:00"),
        extended_at=micros("2022-04-06T09:00"),
        result_digitized_at=micros("2022-04-07T15:00"),
        status_code="10",
        returned_at=micros("2022-04-07T15:00"),
        finished_at=micros("2022-04-07T15:00"),
    )
    result = run("dossier", change("u", before, after))
    assert result.unmapped == []
    # Time order first; at one instant the contract's order (supplemented before
    # extended, digitized before resolved); the unchanged request gives nothing.
    assert [e["type"] for e in result.events] == [
        "supplemented",
        "extended",
        "digitized",
        "resolved",
    ]


def test_ids_are_stable_across_redelivery_and_resnapshot() -> None:
    inserted = run("dossier", change("c", None, dossier()))
    again = run("dossier", change("c", None, dossier()))
    assert inserted == again
    closed = dossier(status_code="10", returned_at=micros("2022-04-07T15:00"))
    resolved = run("dossier", change("u", dossier(), closed))
    # A re-snapshot reads the row as it is now: every fact it holds, with the same ids.
    snapshot = run("dossier", change("r", None, closed))
    assert {e["event_id"] for e in snapshot.events} == {
        inserted.events[0]["event_id"],
        resolved.events[0]["event_id"],
    }
    # A table without REPLICA IDENTITY FULL gives no before image: rules re-fire, same ids.
    no_before = run("dossier", change("u", None, closed))
    assert [e["event_id"] for e in no_before.events] == [e["event_id"] for e in snapshot.events]


def test_ids_differ_by_value_key_column_and_type() -> None:
    base = event_id("dossier", "D-1", "supplement_requested_at", 1, "supplement_requested")
    assert base != event_id("dossier", "D-1", "supplement_requested_at", 2, "supplement_requested")
    assert base != event_id("dossier", "D-2", "supplement_requested_at", 1, "supplement_requested")
    assert base != event_id("dossier", "D-1", "supplemented_at", 1, "supplement_requested")
    assert base != event_id("dossier", "D-1", "supplement_requested_at", 1, "supplemented")
    assert len(base) <= 128
    # A second supplement request is a new value, so a new event.
    first = dossier(supplement_requested_at=micros("2022-04-05T09:00"))
    second = dossier(supplement_requested_at=micros("2022-04-12T09:00"))
    ids = {only(run("dossier", change("u", dossier(), first)))["event_id"]}
    ids.add(only(run("dossier", change("u", first, second)))["event_id"])
    assert len(ids) == 2


def test_null_required_column_is_unmapped_and_other_rules_still_apply() -> None:
    after = dossier(
        procedure_code=None,
        components_digitized_at=micros("2022-04-04T09:00"),
        digitization_code="2",
    )
    result = run("dossier", change("c", None, after))
    assert [e["type"] for e in result.events] == ["digitized"]
    [unmapped] = result.unmapped
    assert (unmapped.table, unmapped.column) == ("dossier", "procedure_code")
    assert "null" in unmapped.reason
    assert unmapped.rule is not None and unmapped.rule.endswith("received")


def test_code_not_in_its_list_is_unmapped_without_echoing_it() -> None:
    result = run("dossier", change("c", None, dossier(channel_code="9")))
    [unmapped] = result.unmapped
    assert unmapped.column == "channel_code"
    assert "[codes.channel]" in unmapped.reason
    assert "9" not in unmapped.describe().replace("codes", "")


def test_contract_refusal_is_unmapped() -> None:
    result = run("dossier", change("c", None, dossier(unit_code="Sở Tư pháp")))
    [unmapped] = result.unmapped
    assert unmapped.event_id is not None and unmapped.event_id.startswith("cdc-")
    assert "unit_id" in unmapped.reason
    assert "Sở" not in unmapped.describe()


def test_deletes() -> None:
    received = dossier()
    # A row that gave events and is then deleted: nothing in the contract undoes them.
    soft = run("dossier", change("u", received, dossier(deleted_at=micros("2022-04-05T08:00"))))
    hard = run("dossier", change("d", received, None))
    for result in (soft, hard):
        assert result.events == []
        [unmapped] = result.unmapped
        assert "retraction" in unmapped.reason
    # A draft keyed in by mistake and soft-deleted never meant anything: silence.
    draft = dossier(received_at=None, status_code="1")
    assert run("dossier", change("u", draft, {**draft, "deleted_at": 1})) == Translation()
    # Later edits of an already deleted row: silence too.
    gone = dossier(deleted_at=1)
    assert run("dossier", change("u", gone, {**gone, "subject": "x"})) == Translation()


@pytest.mark.parametrize(
    ("table", "envelope", "reason"),
    [
        ("dossier_component", change("c", None, {"id": 1}), "no mapping for this table"),
        ("dossier", {"payload": 1}, "not a Debezium change envelope"),
        ("dossier", change("t", None, None), "no row"),
        ("dossier", change("c", None, dossier(dossier_code=None)), "primary key"),
        ("dossier", change("c", None, dossier(received_at="yesterday")), "timestamp"),
    ],
)
def test_unmappable_changes(table: str, envelope: object, reason: str) -> None:
    result = run(table, envelope)
    assert result.events == []
    assert len(result.unmapped) == 1 and reason in result.unmapped[0].reason


def test_unit_and_procedure_code_lists() -> None:
    document = _document()
    document["codes"]["units"] = {"G01": "so-tu-phap"}
    document["codes"]["procedures"] = {"1.0001": "qt.so-tu-phap.001"}
    mapping = parse(document)
    row = dossier(unit_code="G01", holder_unit_code="G01", procedure_code="1.0001")
    event = only(run("dossier", change("c", None, row), mapping))
    assert (event["unit_id"], event["procedure_id"]) == ("so-tu-phap", "qt.so-tu-phap.001")
    unknown = run("dossier", change("c", None, {**row, "unit_code": "G99"}), mapping)
    assert unknown.unmapped[0].reason == "unit code not in [codes.units]"


def test_iso_and_millisecond_timestamps() -> None:
    document = _document()
    document["source"]["timestamps"] = "iso"
    iso = parse(document)
    row = dossier(received_at="2022-04-04T08:00:00", appointment_at=None)
    assert only(run("dossier", change("c", None, row), iso))["occurred_at"] == (
        "2022-04-04T08:00:00+07:00"
    )
    document["source"]["timestamps"] = "epoch_millis"
    millis = parse(document)
    row = dossier(received_at=micros("2022-04-04T08:00:00") // 1000, appointment_at=None)
    assert only(run("dossier", change("c", None, row), millis))["occurred_at"] == (
        "2022-04-04T08:00:00+07:00"
    )


def _document() -> dict[str, Any]:
    import tomllib

    with (ROOT / "examples" / "one-stop" / "mapping.toml").open("rb") as handle:
        return tomllib.load(handle)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["tables"]["dossier"]["events"][0].update(type="opened"), "type must be"),
        (
            lambda d: d["tables"]["dossier"]["events"][0]["fields"].update(citizen_name="x"),
            "not a field of 'received'",
        ),
        (
            lambda d: d["tables"]["dossier"]["events"][0]["fields"].update(
                channel={"column": "channel_code", "codes": "kenh"}
            ),
            "no code list",
        ),
        (lambda d: d["tables"]["dossier"].pop("key"), "missing key"),
        (lambda d: d["source"].update(timestamps="unix"), "source.timestamps"),
        (lambda d: d["tables"]["dossier"]["events"][0].pop("when"), "missing when"),
    ],
)
def test_mapping_file_errors_name_the_place(edit: Any, message: str) -> None:
    document = _document()
    edit(document)
    with pytest.raises(MappingError, match=message):
        parse(document)


def test_topics_follow_debezium_naming() -> None:
    assert MAPPING.topic("dossier") == "onestop.public.dossier"
    assert MAPPING.table_of_topic("onestop.public.payment_request") == "payment_request"
    assert MAPPING.table_of_topic("other.public.dossier") is None


def test_the_reasons_of_one_change_are_one_rejection() -> None:
    [unmapped] = run("dossier", change("c", None, dossier(channel_code="9"))).unmapped
    single = rejection([unmapped])
    assert single.field == "dossier.events[0]:received.channel_code"
    assert single.reason == unmapped.describe() and single.kind == "invalid"
    digitized = micros("2022-04-04T09:00")
    both = dossier(channel_code="9", components_digitized_at=digitized, digitization_code="9")
    joined = rejection(run("dossier", change("c", None, both)).unmapped)
    assert joined.reason.count("; ") == 1 and "[codes.channel]" in joined.reason
    assert joined.field == (
        "dossier.events[0]:received.channel_code, dossier.events[4]:digitized.digitization_code"
    )
    refused = run("dossier", change("c", None, dossier(unit_code="Sở Tư pháp"))).unmapped
    assert rejection(refused).event_id == refused[0].event_id
    with pytest.raises(ValueError):
        rejection([])


def test_debezium_placeholder_is_never_a_value() -> None:
    # An UPDATE of a table without REPLICA IDENTITY FULL: no before image, and an
    # unchanged TOASTed column carried as Debezium's placeholder.
    closed = dossier(status_code="10", returned_at=micros("2022-04-07T15:00"))
    placeholder = dossier(status_code="10", returned_at=micros("2022-04-07T15:00"))
    placeholder["procedure_code"] = UNAVAILABLE
    result = run("dossier", change("u", None, placeholder))
    # The rules re-fire (no before image): the same ids as from the full row, except the
    # one whose field the change does not carry, which names the column.
    full = run("dossier", change("u", None, closed))
    assert [e["type"] for e in full.events] == ["received", "resolved"]
    assert [e["event_id"] for e in result.events] == [full.events[1]["event_id"]]
    [unmapped] = result.unmapped
    assert (unmapped.column, unmapped.rule) == ("procedure_code", "events[0]:received")
    assert "REPLICA IDENTITY FULL" in unmapped.reason
    # A firing column holding the placeholder did not change: its rule does not fire.
    unchanged = dossier(status_code=UNAVAILABLE, returned_at=micros("2022-04-07T15:00"))
    assert [e["type"] for e in run("dossier", change("u", None, unchanged)).events] == ["received"]
    assert unavailable("X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ==")  # a bytea column's
    assert not unavailable(None) and not unavailable("10")
