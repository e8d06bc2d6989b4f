"""Bad input: clear errors naming event and field, never echoing values."""

from __future__ import annotations

import json

from tests.eventkit import raw
from tthc_monitor.core.engine import Engine
from tthc_monitor.ingest import Rejection, decode


def test_valid_event_passes(engine: Engine) -> None:
    event = raw(
        "received",
        "D1",
        "2022-03-16 08:00",
        "so-tu-phap",
        procedure_id="qt.so-tu-phap.002",
        channel="online",
    )
    assert not isinstance(decode(json.dumps(event), engine), Rejection)


def test_bad_json_is_named(engine: Engine) -> None:
    rejection = decode(b'{"event_id": "e1", ', engine)
    assert isinstance(rejection, Rejection)
    assert rejection.reason == "not valid JSON"
    assert rejection.event_id is None


def test_unknown_field_names_field_not_value(engine: Engine) -> None:
    event = raw(
        "received",
        "D1",
        "2022-03-16 08:00",
        "so-tu-phap",
        event_id="e-77",
        procedure_id="qt.so-tu-phap.002",
        channel="online",
        citizen_name="Nguyễn Văn A",
        phone="0912345678",
    )
    rejection = decode(json.dumps(event, ensure_ascii=False), engine)
    assert isinstance(rejection, Rejection)
    text = rejection.describe()
    assert "'e-77'" in text and "citizen_name" in text and "phone" in text
    assert "Nguyễn" not in text and "0912345678" not in text
    assert rejection.field == "citizen_name"


def test_schema_violation_names_field(engine: Engine) -> None:
    event = raw(
        "paid",
        "D1",
        "2022-03-16 08:00",
        "so-tu-phap",
        event_id="e-9",
        channel="cash",
        amount_vnd=-5,
    )
    rejection = decode(json.dumps(event), engine)
    assert isinstance(rejection, Rejection)
    assert "field 'channel'" in rejection.reason and "field 'amount_vnd'" in rejection.reason
    assert "-5" not in rejection.reason


def test_unknown_references(engine: Engine) -> None:
    unit = raw(
        "received",
        "D1",
        "2022-03-16 08:00",
        "so-khong-co",
        procedure_id="qt.so-tu-phap.002",
        channel="online",
    )
    procedure = raw(
        "received",
        "D1",
        "2022-03-16 08:00",
        "so-tu-phap",
        procedure_id="9.999999",
        channel="online",
    )
    target = raw("transferred", "D1", "2022-03-16 08:00", "so-tu-phap", to_unit_id="nowhere")
    for event, field in ((unit, "unit_id"), (procedure, "procedure_id"), (target, "to_unit_id")):
        rejection = decode(json.dumps(event), engine)
        assert isinstance(rejection, Rejection)
        assert rejection.field == field
        assert f"field '{field}'" in rejection.reason


def test_not_an_object(engine: Engine) -> None:
    rejection = decode(b"[1, 2]", engine)
    assert isinstance(rejection, Rejection)
    assert rejection.event_id is None


def test_tombstones_and_pathological_input(engine: Engine) -> None:
    for value in (None, b"", b"[" * 100_000, b"\xff\xfe", b'"just a string"'):
        rejection = decode(value, engine)
        assert isinstance(rejection, Rejection), value


def test_values_are_never_echoed(engine: Engine) -> None:
    secret = "Nguyen Van A 0912345678"
    bad_type = raw(
        "received",
        "D1",
        "2022-03-16 08:00",
        "so-tu-phap",
        procedure_id="qt.so-tu-phap.002",
        channel="online",
    )
    bad_type["type"] = secret
    bad_procedure = raw(
        "received", "D1", "2022-03-16 08:00", "so-tu-phap", procedure_id=secret, channel="online"
    )
    for event in (bad_type, bad_procedure):
        rejection = decode(json.dumps(event), engine)
        assert isinstance(rejection, Rejection)
        assert secret not in rejection.describe()
        assert "0912345678" not in rejection.describe()
