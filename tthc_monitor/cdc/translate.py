"""One Debezium row change → contract events, or the reasons it cannot be mapped.

Pure: no I/O, no clock. The input is the decoded value of a Debezium message (the
envelope ``{"before", "after", "source", "op"}``, JSON converter without schemas) and
the table it came from.

* A rule fires when its ``when`` column takes a new value: a non-null value different
  from the before image (or entering one of ``in``). Without a before image (a snapshot
  read, or a table without REPLICA IDENTITY FULL) every rule whose column holds a value
  fires again; that is harmless, because
* each event's id is derived from (table, primary key, column, value, type): a
  re-snapshot or a redelivery produces the very same ids, which the store ignores.
* Events of one change come out in the contract's sequence order (occurred_at, then the
  same-instant type order of ``core/timeline.py``).
* A rule that cannot be applied (a null required column, a code not in its list, an
  event the contract refuses) yields an ``Unmapped`` naming the rule and the column; the
  other rules of the same change still yield their events. Values are never echoed: a
  column may hold personal data.
* Debezium's placeholder for a value the change does not carry (``UNAVAILABLE``: an
  unchanged TOASTed column of a table without REPLICA IDENTITY FULL) is never read as a
  value: a ``when`` column holding it did not change, so its rule does not fire; a field
  holding it makes its rule ``Unmapped`` (docs/cdc.md, "REPLICA IDENTITY").
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from schemas.events import EVENT_ADAPTER
from tthc_monitor.cdc.mapping import Field, OneStopMapping, Rule, Table
from tthc_monitor.core.timeline import TYPE_ORDER

_RANK = {name: rank for rank, name in enumerate(TYPE_ORDER)}
_EPOCH = datetime(1970, 1, 1)

UNAVAILABLE = "__debezium_unavailable_value"
"""Debezium's default ``unavailable.value.placeholder``: what an UPDATE (or a DELETE's
before image) carries for a TOASTed column it did not change, unless the table has
REPLICA IDENTITY FULL. A bytea column carries its bytes, base64 in JSON."""
_UNAVAILABLE = frozenset({UNAVAILABLE, "X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ=="})
_NOT_CARRIED = (
    "value not carried by the change (an unchanged TOASTed column: REPLICA IDENTITY FULL)"
)


def unavailable(value: object) -> bool:
    """Whether ``value`` is Debezium's placeholder, not the column's value."""
    return isinstance(value, str) and value in _UNAVAILABLE


@dataclass(frozen=True)
class Unmapped:
    """A row change (or one rule of it) the mapping cannot turn into an event."""

    reason: str
    table: str | None = None
    rule: str | None = None
    column: str | None = None
    event_id: str | None = None

    def describe(self) -> str:
        where = ".".join(p for p in (self.table, self.rule, self.column) if p)
        return f"{where or 'row change'}: {self.reason}"


@dataclass
class Translation:
    events: list[dict[str, Any]] = field(default_factory=list)
    unmapped: list[Unmapped] = field(default_factory=list)


class _Skip(Exception):
    """Internal: this rule cannot be applied; carries the column and the reason."""

    def __init__(self, column: str | None, reason: str) -> None:
        super().__init__(reason)
        self.column = column
        self.reason = reason


def event_id(table: str, key: str, column: str, value: object, kind: str) -> str:
    """A stable id: the same source fact always gives the same id (the event type is in
    it too, so two rules on one column give two events)."""
    canonical = json.dumps([table, key, column, value, kind], ensure_ascii=False, default=str)
    return "cdc-" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:40]


def local_time(raw: object, mapping: OneStopMapping, column: str) -> datetime:
    """A ``timestamp without time zone`` as Debezium encodes it, read as the one-stop
    system's wall clock (source.timezone)."""
    if isinstance(raw, bool) or raw is None:
        raise _Skip(column, "not a timestamp")
    try:
        if mapping.timestamps == "epoch_micros" and isinstance(raw, int):
            naive = _EPOCH + timedelta(microseconds=raw)
        elif mapping.timestamps == "epoch_millis" and isinstance(raw, int):
            naive = _EPOCH + timedelta(milliseconds=raw)
        elif mapping.timestamps == "iso" and isinstance(raw, str):
            naive = datetime.fromisoformat(raw)
        else:
            raise _Skip(column, f"not a timestamp encoded as {mapping.timestamps}")
    except (ValueError, OverflowError):
        raise _Skip(column, "unreadable timestamp") from None
    if naive.tzinfo is not None:
        # An application that stored an offset after all: an instant is an instant.
        return naive.astimezone(mapping.zone)
    return naive.replace(tzinfo=mapping.zone)


def _text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _value(spec: Field, row: Mapping[str, Any], mapping: OneStopMapping, name: str) -> object:
    if spec.column is None:
        return spec.value
    if spec.column not in row:
        raise _Skip(spec.column, "column not in the captured row")
    raw = row[spec.column]
    if unavailable(raw):
        raise _Skip(spec.column, _NOT_CARRIED)
    if raw is None:
        if spec.required:
            raise _Skip(spec.column, "required column is null")
        return None
    if spec.codes is not None:
        codes = mapping.codes[spec.codes]
        code = _text(raw).strip()
        if code not in codes:
            raise _Skip(spec.column, f"code not in [codes.{spec.codes}]")
        return codes[code]
    if name.endswith("_at"):
        return local_time(raw, mapping, spec.column).isoformat()
    if name in ("unit_id", "to_unit_id") and mapping.units is not None:
        code = _text(raw).strip()
        if code not in mapping.units:
            raise _Skip(spec.column, "unit code not in [codes.units]")
        return mapping.units[code]
    if name == "procedure_id" and mapping.procedures is not None:
        code = _text(raw).strip()
        if code not in mapping.procedures:
            raise _Skip(spec.column, "procedure code not in [codes.procedures]")
        return mapping.procedures[code]
    return raw.strip() if isinstance(raw, str) else raw


def _fires(rule: Rule, before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> bool:
    new = after.get(rule.when_column)
    if new is None or unavailable(new):
        return False  # the placeholder comes only for a value the change left as it was
    if rule.when_in is not None and _text(new) not in rule.when_in:
        return False
    if before is None:
        return True
    old = before.get(rule.when_column)
    if rule.when_in is not None:
        return old is None or _text(old) not in rule.when_in
    return bool(old != new)


def _key(table: Table, row: Mapping[str, Any]) -> str:
    parts = []
    for column in table.key:
        if row.get(column) is None or unavailable(row[column]):
            raise _Skip(column, "primary key column missing")
        parts.append(_text(row[column]))
    return "|".join(parts)


def _build(
    rule: Rule,
    table: Table,
    key: str,
    after: Mapping[str, Any],
    mapping: OneStopMapping,
) -> tuple[datetime, dict[str, Any]]:
    dossier = after.get(table.dossier)
    if dossier is None:
        raise _Skip(table.dossier, "dossier code is null")
    if unavailable(dossier):
        raise _Skip(table.dossier, _NOT_CARRIED)
    if rule.occurred_at not in after:
        raise _Skip(rule.occurred_at, "column not in the captured row")
    occurred = local_time(after[rule.occurred_at], mapping, rule.occurred_at)
    event: dict[str, Any] = {
        "schema_version": 1,
        "event_id": event_id(table.name, key, rule.when_column, after[rule.when_column], rule.type),
        "type": rule.type,
        "dossier_id": _text(dossier).strip(),
        "occurred_at": occurred.isoformat(),
        "unit_id": _value(rule.unit_id, after, mapping, "unit_id"),
    }
    for name, spec in rule.fields.items():
        value = _value(spec, after, mapping, name)
        if value is not None:
            event[name] = value
    return occurred, event


def _contract_reason(error: ValidationError) -> tuple[str | None, str]:
    first = error.errors(include_url=False)[0]
    loc = [str(p) for p in first["loc"]][1:] or ["(event)"]
    field_name = ".".join(loc)
    return field_name, f"the contract refuses field {field_name!r}: {first['msg']}"


def translate(envelope: object, table_name: str | None, mapping: OneStopMapping) -> Translation:
    """The events one Debezium change means, in sequence order, and what cannot be mapped."""
    result = Translation()
    if table_name is None or table_name not in mapping.tables:
        result.unmapped.append(Unmapped("no mapping for this table", table_name))
        return result
    table = mapping.tables[table_name]
    if not isinstance(envelope, dict) or envelope.get("op") not in ("c", "u", "r", "d", "t", "m"):
        result.unmapped.append(Unmapped("not a Debezium change envelope", table.name))
        return result
    op = envelope["op"]
    before = envelope.get("before")
    after = envelope.get("after")
    if op in ("t", "m"):  # truncate and logical messages carry no row
        result.unmapped.append(Unmapped(f"operation {op!r} has no row to map", table.name))
        return result
    if op == "d" or (
        table.soft_delete and isinstance(after, dict) and after.get(table.soft_delete)
    ):
        gone = before if op == "d" else after
        was_deleted = (
            isinstance(before, dict) and table.soft_delete and before.get(table.soft_delete)
        )
        if op != "d" and was_deleted:
            return result  # already soft-deleted: a later edit of a deleted row
        if isinstance(gone, dict) and any(
            gone.get(rule.when_column) is not None
            and (rule.when_in is None or _text(gone[rule.when_column]) in rule.when_in)
            for rule in table.rules
        ):
            result.unmapped.append(
                Unmapped(
                    "row deleted after it gave events; the contract has no retraction",
                    table.name,
                    column=table.soft_delete if op != "d" else None,
                )
            )
        # A row deleted before it meant anything (a draft entered by mistake) is no event.
        return result
    if not isinstance(after, dict):
        result.unmapped.append(Unmapped("change without an after image", table.name))
        return result
    if not isinstance(before, dict):
        before = None
    try:
        key = _key(table, after)
    except _Skip as skip:
        result.unmapped.append(Unmapped(skip.reason, table.name, column=skip.column))
        return result
    built: list[tuple[datetime, int, dict[str, Any]]] = []
    for index, rule in enumerate(table.rules):
        if not _fires(rule, before, after):
            continue
        name = f"events[{index}]:{rule.type}"
        try:
            occurred, event = _build(rule, table, key, after, mapping)
        except _Skip as skip:
            result.unmapped.append(Unmapped(skip.reason, table.name, name, skip.column))
            continue
        try:
            EVENT_ADAPTER.validate_python(event)
        except ValidationError as error:
            column, reason = _contract_reason(error)
            result.unmapped.append(
                Unmapped(reason, table.name, name, column, event_id=event["event_id"])
            )
            continue
        built.append((occurred.astimezone(UTC), _RANK[rule.type], event))
    built.sort(key=lambda item: (item[0], item[1], item[2]["event_id"]))
    result.events = [event for *_, event in built]
    return result
