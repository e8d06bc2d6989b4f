"""The contract: committed JSON Schemas equal the models, and both agree on examples."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pydantic import ValidationError

from schemas import parse_event
from schemas.generate import HERE, documents, render
from tthc_monitor.core.engine import Engine

# The contract as the project states it; its first ```json block holds the examples.
SPEC = Path(__file__).resolve().parents[2] / "docs" / "rules.md"
# The examples' ids and their counterparts in the bundled registry. They
# happen to coincide; the map stays so a registry change shows up here, not in prod.
ID_MAP = {
    "xa-cam-lo": "xa-cam-lo",
    "cn-vpdkdd-cam-lo": "cn-vpdkdd-cam-lo",
    "chi-cuc-thue-cam-lo": "chi-cuc-thue-cam-lo",
    "so-tu-phap": "so-tu-phap",
    "1.004227": "1.004227",
}


def event_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((HERE / "dossier_event.v1.schema.json").read_text())
    return schema


def validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(
        event_schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


@pytest.mark.parametrize("name", sorted(documents()))
def test_committed_schema_files_equal_the_models(name: str) -> None:
    committed = (HERE / name).read_text(encoding="utf-8")
    assert committed == render(documents()[name]), (
        f"schemas/{name} is stale: run `python -m schemas.generate`"
    )


def spec_examples() -> list[dict[str, Any]]:
    block = re.search(r"```json\n(.*?)```", SPEC.read_text(encoding="utf-8"), re.S)
    assert block
    examples = [json.loads(line) for line in block.group(1).splitlines() if line.strip()]
    for example in examples:
        for key in ("unit_id", "to_unit_id", "procedure_id"):
            if key in example:
                example[key] = ID_MAP[example[key]]
    return examples


def test_spec_examples_validate(engine: Engine) -> None:
    examples = spec_examples()
    assert len(examples) == 13
    check = validator()
    for example in examples:
        check.validate(example)
        event = parse_event(json.dumps(example))
        engine.check_references(event)


BASE = {
    "schema_version": 1,
    "event_id": "e-1",
    "type": "received",
    "dossier_id": "D-1",
    "occurred_at": "2022-03-16T08:12:00+07:00",
    "unit_id": "xa-cam-lo",
    "procedure_id": "1.004227",
    "channel": "direct",
}
INVALID = {
    "boolean version": {"schema_version": True},
    "string version": {"schema_version": "1"},
    "version 2": {"schema_version": 2},
    "unknown type": {"type": "stamped"},
    "unknown field": {"citizen_name": "x"},
    "naive timestamp": {"occurred_at": "2022-03-16T08:12:00"},
    "bad channel": {"channel": "fax"},
    "bad dossier id": {"dossier_id": "D 1"},
    "empty event id": {"event_id": ""},
    "long event id": {"event_id": "x" * 129},
    "missing procedure": {"procedure_id": None},
    # Issue 7's malformed-input storm: what the contract now refuses too.
    "far-future timestamp": {"occurred_at": "2999-03-16T08:12:00+07:00"},
    "placeholder due date": {"due_at": "9999-12-31T23:59:59+07:00"},
    "timestamp before 2000": {"occurred_at": "1970-01-01T00:00:00+00:00"},
    "numeric timestamp": {"occurred_at": 1647393120},
    "control character in event id": {"event_id": "e\u0000-1"},
}
PAID = {
    **{k: v for k, v in BASE.items() if k not in ("procedure_id", "channel")},
    "type": "paid",
    "channel": "one_stop",
    "amount_vnd": 200000,
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_models_and_schema_refuse_the_same_events(case: str) -> None:
    event = {**BASE, **INVALID[case]}
    event = {k: v for k, v in event.items() if v is not None}
    with pytest.raises(ValidationError):
        parse_event(json.dumps(event))
    assert list(validator().iter_errors(event)), f"JSON Schema accepts {case}"


def test_result_digitization_must_be_complete() -> None:
    event = {**BASE, "type": "digitized", "target": "result", "complete": False}
    for key in ("procedure_id", "channel"):
        event.pop(key)
    with pytest.raises(ValidationError, match="complete must be true"):
        parse_event(json.dumps(event))
    assert list(validator().iter_errors(event))
    event["complete"] = True
    parse_event(json.dumps(event))
    validator().validate(event)


@pytest.mark.parametrize("amount", [-1, 10**15 + 1, 10**40, 1.5, "200000"])
def test_amounts_outside_the_contract_are_refused(amount: object) -> None:
    event = {**PAID, "amount_vnd": amount}
    with pytest.raises(ValidationError):
        parse_event(json.dumps(event))
    assert list(validator().iter_errors(event)), f"JSON Schema accepts {amount!r}"


def test_timestamps_at_the_edges_of_the_range_are_accepted() -> None:
    for stamp in ("2000-01-01T00:00:00+07:00", "2099-12-31T23:59:59-05:00"):
        event = {**BASE, "occurred_at": stamp}
        parse_event(json.dumps(event))
        validator().validate(event)
    parse_event(json.dumps({**PAID, "amount_vnd": 10**15}))
