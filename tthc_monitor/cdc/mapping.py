"""The declarative mapping from a one-stop database's tables to contract events.

Read from a TOML file (``examples/one-stop/mapping.toml``); a province edits that file,
not this code. Parsing checks the file's shape once, at start, so a typo in a column or
an event type stops the translator with a message instead of dead-lettering every row.
``load`` is the only function here that reads a file; the rest is pure.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from schemas.events import EVENT_TYPES

TIMESTAMP_ENCODINGS = ("epoch_micros", "epoch_millis", "iso")

# The own fields each event type may carry (docs/rules.md, "Event types"); ``unit_id``,
# ``dossier_id`` and ``occurred_at`` are given by every rule apart.
OWN_FIELDS: dict[str, frozenset[str]] = {
    "received": frozenset({"procedure_id", "channel", "due_at", "stage_due_at"}),
    "transferred": frozenset({"to_unit_id", "stage_due_at"}),
    "resolved": frozenset({"result"}),
    "digitized": frozenset({"target", "complete"}),
    "paid": frozenset({"channel", "amount_vnd"}),
    "apologized": frozenset({"new_appointment_at"}),
    "extended": frozenset({"new_due_at"}),
    "withdrawn": frozenset(),
    "supplement_requested": frozenset(),
    "supplemented": frozenset(),
}


class MappingError(ValueError):
    """The mapping file is malformed; the message names the place."""


@dataclass(frozen=True)
class Field:
    """Where one event field comes from: a column (optionally through a code list), or
    a constant."""

    column: str | None = None
    codes: str | None = None
    value: object = None
    required: bool = True


@dataclass(frozen=True)
class Rule:
    """One kind of event a table's row change can mean."""

    type: str
    when_column: str
    when_in: tuple[str, ...] | None
    """None: the column taking any new non-null value fires the rule; else entering one
    of these values (compared as text) does."""
    occurred_at: str
    unit_id: Field
    fields: dict[str, Field]


@dataclass(frozen=True)
class Table:
    name: str
    key: tuple[str, ...]
    dossier: str
    soft_delete: str | None
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class OneStopMapping:
    topic_prefix: str
    schema: str
    zone: ZoneInfo
    timestamps: str
    units: dict[str, str] | None
    procedures: dict[str, str] | None
    codes: dict[str, dict[str, object]]
    tables: dict[str, Table]

    def topic(self, table: str) -> str:
        """Debezium's topic of a table: ``<topic.prefix>.<schema>.<table>``."""
        return f"{self.topic_prefix}.{self.schema}.{table}"

    def table_of_topic(self, topic: str) -> str | None:
        for name in self.tables:
            if self.topic(name) == topic:
                return name
        return None


def _field(spec: object, where: str, codes: Mapping[str, object]) -> Field:
    if isinstance(spec, str):
        return Field(column=spec)
    if not isinstance(spec, dict):
        raise MappingError(f"{where}: a column name or a table {{column=..., codes=...}}")
    unknown = set(spec) - {"column", "codes", "value", "required"}
    if unknown:
        raise MappingError(f"{where}: unknown keys {sorted(unknown)}")
    if ("column" in spec) == ("value" in spec):
        raise MappingError(f"{where}: give exactly one of column or value")
    code_list = spec.get("codes")
    if code_list is not None and code_list not in codes:
        raise MappingError(f"{where}: no code list [codes.{code_list}]")
    return Field(
        column=spec.get("column"),
        codes=code_list,
        value=spec.get("value"),
        required=bool(spec.get("required", True)),
    )


def _rule(spec: dict[str, Any], where: str, codes: Mapping[str, object]) -> Rule:
    known = {"type", "when", "occurred_at", "unit_id", "fields"}
    unknown = set(spec) - known
    if unknown:
        raise MappingError(f"{where}: unknown keys {sorted(unknown)}")
    kind = spec.get("type")
    if kind not in EVENT_TYPES:
        raise MappingError(f"{where}: type must be one of {', '.join(EVENT_TYPES)}")
    when = spec.get("when")
    when_in: tuple[str, ...] | None = None
    if isinstance(when, dict):
        if set(when) != {"column", "in"} or not isinstance(when["in"], list):
            raise MappingError(f"{where}.when: a column name or {{column=..., in=[...]}}")
        when_column = str(when["column"])
        when_in = tuple(str(v) for v in when["in"])
    elif isinstance(when, str):
        when_column = when
    else:
        raise MappingError(f"{where}: missing when (the column whose change fires the rule)")
    for key in ("occurred_at", "unit_id"):
        if key not in spec:
            raise MappingError(f"{where}: missing {key}")
    if not isinstance(spec["occurred_at"], str):
        raise MappingError(f"{where}.occurred_at: a column name")
    fields_spec = spec.get("fields", {})
    if not isinstance(fields_spec, dict):
        raise MappingError(f"{where}.fields: a table of field = column")
    allowed = OWN_FIELDS[kind]
    fields: dict[str, Field] = {}
    for name, field_spec in fields_spec.items():
        if name not in allowed:
            raise MappingError(
                f"{where}.fields.{name}: not a field of {kind!r} (allowed: {sorted(allowed)})"
            )
        fields[name] = _field(field_spec, f"{where}.fields.{name}", codes)
    return Rule(
        type=kind,
        when_column=when_column,
        when_in=when_in,
        occurred_at=spec["occurred_at"],
        unit_id=_field(spec["unit_id"], f"{where}.unit_id", codes),
        fields=fields,
    )


def parse(document: Mapping[str, Any]) -> OneStopMapping:
    """Check and convert a parsed mapping document."""
    source = document.get("source")
    if not isinstance(source, dict):
        raise MappingError("missing [source]")
    timestamps = source.get("timestamps", "epoch_micros")
    if timestamps not in TIMESTAMP_ENCODINGS:
        raise MappingError(f"source.timestamps: one of {', '.join(TIMESTAMP_ENCODINGS)}")
    codes_spec = document.get("codes", {})
    if not isinstance(codes_spec, dict) or not all(
        isinstance(v, dict) for v in codes_spec.values()
    ):
        raise MappingError("[codes.NAME] tables map source codes to contract values")
    codes = {name: {str(k): v for k, v in table.items()} for name, table in codes_spec.items()}
    units = codes.get("units")
    procedures = codes.get("procedures")
    tables_spec = document.get("tables")
    if not isinstance(tables_spec, dict) or not tables_spec:
        raise MappingError("missing [tables.NAME]")
    tables: dict[str, Table] = {}
    for name, spec in tables_spec.items():
        where = f"tables.{name}"
        unknown = set(spec) - {"key", "dossier", "soft_delete", "events"}
        if unknown:
            raise MappingError(f"{where}: unknown keys {sorted(unknown)}")
        key = spec.get("key")
        keys = (key,) if isinstance(key, str) else tuple(key or ())
        if not keys:
            raise MappingError(f"{where}: missing key (the primary key column(s))")
        if not isinstance(spec.get("dossier"), str):
            raise MappingError(f"{where}: missing dossier (the column with the dossier code)")
        rules = tuple(
            _rule(rule, f"{where}.events[{i}]", codes)
            for i, rule in enumerate(spec.get("events", []))
        )
        if not rules:
            raise MappingError(f"{where}: no [[{where}.events]]")
        tables[name] = Table(name, keys, spec["dossier"], spec.get("soft_delete"), rules)
    try:
        zone = ZoneInfo(source.get("timezone", "Asia/Ho_Chi_Minh"))
    except (KeyError, ValueError) as error:
        raise MappingError(f"source.timezone: {error}") from None
    return OneStopMapping(
        topic_prefix=str(source.get("topic_prefix", "onestop")),
        schema=str(source.get("schema", "public")),
        zone=zone,
        timestamps=timestamps,
        units={str(k): str(v) for k, v in units.items()} if units else None,
        procedures={str(k): str(v) for k, v in procedures.items()} if procedures else None,
        codes=codes,
        tables=tables,
    )


def load(path: Path) -> OneStopMapping:
    with path.open("rb") as handle:
        try:
            document = tomllib.load(handle)
        except tomllib.TOMLDecodeError as error:
            raise MappingError(f"{path}: {error}") from None
    try:
        return parse(document)
    except MappingError as error:
        raise MappingError(f"{path}: {error}") from None
