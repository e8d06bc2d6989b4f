"""Plays a contract event stream into the sample one-stop schema, as the application would.

The adapter that writes PostgreSQL (psycopg). Each event becomes the statements a
one-stop application issues for that step: a counter intake is one INSERT, an online
dossier is submitted first and received by a later UPDATE that sets several columns; a
transfer appends to the processing log and updates the dossier's holder; a payment
request is inserted, then marked paid; an apology draft is written, then issued. On top
come the edits that mean nothing to the monitor: corrections of the subject line and of
a provisional procedure code before receipt, and drafts entered twice by mistake and
soft-deleted. Dossier-row steps of one dossier that follow each other within
``MERGE_WINDOW`` are saved by one UPDATE (a clerk who saves the form once), so a single
row change can carry several events.

What the sample tables cannot express is counted, not hidden (``Played.inexpressible``):
a ``resolved``, ``withdrawn`` or ``digitized`` event at a unit other than the owner (the
dossier row stores the owner only).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
MERGE_WINDOW = timedelta(minutes=30)
CHANNEL_CODES = {"direct": "1", "online": "2", "postal": "3"}
PAYMENT_CHANNEL_CODES = {"national_portal": "dvcqg", "one_stop": "mot-cua", "offline": "tien-mat"}
RESULT_CODES = {"approved": "1", "rejected": "0"}
SCHEMA = Path(__file__).resolve().parents[2] / "examples" / "one-stop" / "schema.sql"


@dataclass
class Played:
    events: int = 0
    statements: int = 0
    seconds: float = 0.0
    multi_event_updates: int = 0
    corrections: int = 0
    soft_deleted_drafts: int = 0
    inexpressible: dict[str, int] = field(default_factory=dict)


def local(text: str | None) -> datetime | None:
    """The contract's instant as the application's wall clock (timestamp without zone)."""
    if text is None:
        return None
    return datetime.fromisoformat(text).astimezone(ZONE).replace(tzinfo=None)


def read_events(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def subset(events: Iterable[dict[str, Any]], dossiers: int, every: int = 1) -> list[dict[str, Any]]:
    """The complete histories of ``dossiers`` dossiers: every ``every``-th one received,
    in stream order (a stride spreads a small sample over the whole scenario)."""
    chosen: set[str] = set()
    kept = []
    seen = 0
    for event in events:
        if event["type"] == "received":
            if seen % every == 0 and len(chosen) < dossiers:
                chosen.add(event["dossier_id"])
            seen += 1
        if event["dossier_id"] in chosen:
            kept.append(event)
    return kept


# Steps recorded on the dossier row, whose unit is the row's owner (unit_code).
_OWNER_ONLY = frozenset({"resolved", "withdrawn", "digitized"})


class _Writer:
    def __init__(self, cursor: psycopg.Cursor[Any], played: Played) -> None:
        self.cursor = cursor
        self.played = played
        self.owner: dict[str, str] = {}
        self.pending: dict[str, tuple[datetime, dict[str, Any], int]] = {}
        self.serial = 0

    def sql(self, statement: str, params: Iterable[Any]) -> None:
        self.cursor.execute(statement.encode(), tuple(params))
        self.played.statements += 1

    def update_dossier(self, dossier: str, at: datetime, columns: dict[str, Any]) -> None:
        columns = {**columns, "sync_flag": "0", "updated_at": at}
        assignments = ", ".join(f"{name} = %s" for name in columns)
        self.sql(
            f"UPDATE dossier SET {assignments} WHERE dossier_code = %s",
            [*columns.values(), dossier],
        )

    def flush(self, dossier: str) -> None:
        if dossier in self.pending:
            at, columns, count = self.pending.pop(dossier)
            if count > 1:
                self.played.multi_event_updates += 1
            self.update_dossier(dossier, at, columns)

    def flush_older(self, now: datetime) -> None:
        for dossier in [d for d, (at, *_) in self.pending.items() if now - at > MERGE_WINDOW]:
            self.flush(dossier)

    def stage(self, dossier: str, at: datetime, columns: dict[str, Any]) -> None:
        """A dossier-row step: merged with the pending one when close and disjoint."""
        if dossier in self.pending:
            first, pending, count = self.pending[dossier]
            if at - first <= MERGE_WINDOW and not (set(pending) & set(columns)):
                self.pending[dossier] = (first, {**pending, **columns}, count + 1)
                return
            self.flush(dossier)
        self.pending[dossier] = (at, columns, 1)

    def log(self, dossier: str, action: str, at: datetime, **extra: Any) -> None:
        self.sql(
            "INSERT INTO processing_log (dossier_code, action_code, from_unit_code,"
            " to_unit_code, step_due_at, acted_at) VALUES (%s, %s, %s, %s, %s, %s)",
            [
                dossier,
                action,
                extra.get("from_unit"),
                extra.get("to_unit"),
                extra.get("step_due"),
                at,
            ],
        )

    def owner_of(self, dossier: str) -> str | None:
        if dossier not in self.owner:
            # Received by an earlier run of the generator: the row knows.
            self.cursor.execute(
                b"SELECT unit_code FROM dossier WHERE dossier_code = %s", (dossier,)
            )
            row = self.cursor.fetchone()
            if row is None:
                return None
            self.owner[dossier] = row[0]
        return self.owner[dossier]

    def inexpressible(self, reason: str) -> None:
        self.played.inexpressible[reason] = self.played.inexpressible.get(reason, 0) + 1

    def received(self, e: dict[str, Any], at: datetime) -> None:
        dossier = e["dossier_id"]
        self.owner[dossier] = e["unit_id"]
        self.serial += 1
        values = {
            "unit_code": e["unit_id"],
            "procedure_code": e["procedure_id"],
            "channel_code": CHANNEL_CODES[e["channel"]],
            "status_code": "2",
            "received_at": at,
            "appointment_at": local(e.get("due_at")),
            "step_due_at": local(e.get("stage_due_at")),
            "holder_unit_code": e["unit_id"],
        }
        if e["channel"] == "online":
            # Submitted an hour earlier with a provisional procedure code, received by one
            # UPDATE that corrects the code and sets the reception columns.
            submitted = at - timedelta(hours=1)
            self.sql(
                "INSERT INTO dossier (dossier_code, unit_code, procedure_code, channel_code,"
                " applicant_ref, subject, status_code, submitted_at, created_at)"
                " VALUES (%s, %s, %s, '2', %s, %s, '1', %s, %s)",
                [
                    dossier,
                    e["unit_id"],
                    "CHUA-XAC-DINH",
                    f"ref-{self.serial:07d}",
                    "Hồ sơ nộp trực tuyến",
                    submitted,
                    submitted,
                ],
            )
            self.played.corrections += 1
            self.update_dossier(dossier, at, values)
        else:
            self.sql(
                "INSERT INTO dossier (dossier_code, applicant_ref, subject, submitted_at,"
                f" created_at, {', '.join(values)})"
                f" VALUES (%s, %s, %s, %s, %s, {', '.join(['%s'] * len(values))})",
                [
                    dossier,
                    f"ref-{self.serial:07d}",
                    "Hồ sơ tiếp nhận tại quầy",
                    at,
                    at,
                    *values.values(),
                ],
            )
            if self.serial % 11 == 0:
                # A typo in the subject line, corrected a minute later: no event.
                self.played.corrections += 1
                self.update_dossier(
                    dossier, at + timedelta(minutes=1), {"subject": "Hồ sơ (đã sửa trích yếu)"}
                )
        self.log(dossier, "receive", at, to_unit=e["unit_id"])
        if self.serial % 500 == 0:
            # The same dossier keyed in twice; the duplicate is soft-deleted: no event.
            duplicate = f"{dossier}-TRUNG"[:50]
            self.sql(
                "INSERT INTO dossier (dossier_code, unit_code, procedure_code, channel_code,"
                " status_code, created_at) VALUES (%s, %s, %s, '1', '1', %s)",
                [duplicate, e["unit_id"], e["procedure_id"], at],
            )
            self.sql(
                "UPDATE dossier SET deleted_at = %s, delete_reason = %s WHERE dossier_code = %s",
                [at + timedelta(minutes=2), "Nhập trùng", duplicate],
            )
            self.played.soft_deleted_drafts += 1

    def apply(self, e: dict[str, Any]) -> None:
        at = local(e["occurred_at"])
        assert at is not None
        dossier, kind = e["dossier_id"], e["type"]
        self.flush_older(at)
        if kind in _OWNER_ONLY and e["unit_id"] != self.owner_of(dossier):
            self.inexpressible(f"{kind} at a unit other than the owner")
        if kind == "received":
            self.flush(dossier)
            self.received(e, at)
        elif kind == "transferred":
            self.flush(dossier)
            step_due = local(e.get("stage_due_at"))
            self.log(
                dossier,
                "transfer",
                at,
                from_unit=e["unit_id"],
                to_unit=e["to_unit_id"],
                step_due=step_due,
            )
            self.update_dossier(
                dossier,
                at,
                {"holder_unit_code": e["to_unit_id"], "step_due_at": step_due, "status_code": "4"},
            )
        elif kind == "resolved":
            columns: dict[str, Any] = {"status_code": "10", "finished_at": at, "returned_at": at}
            if e.get("result"):
                columns["result_code"] = RESULT_CODES[e["result"]]
            self.stage(dossier, at, columns)
        elif kind == "withdrawn":
            self.stage(dossier, at, {"status_code": "3", "withdrawn_at": at})
        elif kind == "digitized":
            if e["target"] == "components":
                code = "2" if e["complete"] else "3"
                self.stage(dossier, at, {"components_digitized_at": at, "digitization_code": code})
            else:
                self.stage(dossier, at, {"result_digitized_at": at})
        elif kind == "extended":
            self.stage(
                dossier,
                at,
                {
                    "extended_due_at": local(e["new_due_at"]),
                    "extended_at": at,
                    "holder_unit_code": e["unit_id"],
                },
            )
        elif kind == "supplement_requested":
            self.stage(
                dossier,
                at,
                {
                    "status_code": "5",
                    "supplement_requested_at": at,
                    "holder_unit_code": e["unit_id"],
                },
            )
        elif kind == "supplemented":
            self.stage(
                dossier,
                at,
                {"status_code": "4", "supplemented_at": at, "holder_unit_code": e["unit_id"]},
            )
        elif kind == "paid":
            self.flush(dossier)
            self.sql(
                "INSERT INTO payment_request (dossier_code, request_code, amount, channel_code,"
                " unit_code, requested_at) VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
                [
                    dossier,
                    f"YC-{self.played.statements}",
                    e["amount_vnd"],
                    PAYMENT_CHANNEL_CODES[e["channel"]],
                    e["unit_id"],
                    at,
                ],
            )
            row = self.cursor.fetchone()
            assert row is not None
            self.sql(
                "UPDATE payment_request SET status = 'Đã thanh toán', paid_at = %s WHERE id = %s",
                [at, row[0]],
            )
        elif kind == "apologized":
            self.flush(dossier)
            self.sql(
                "INSERT INTO apology_draft (dossier_code, unit_code, new_appointment_at,"
                " created_at) VALUES (%s, %s, %s, %s) RETURNING id",
                [dossier, e["unit_id"], local(e.get("new_appointment_at")), at],
            )
            row = self.cursor.fetchone()
            assert row is not None
            self.sql(
                "UPDATE apology_draft SET state = 'Đã ban hành', issued_at = %s WHERE id = %s",
                [at, row[0]],
            )
        else:  # pragma: no cover - the contract has no other type
            raise ValueError(f"unknown event type {kind!r}")
        self.played.events += 1


def _chunks(events: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(events), size):
        yield events[start : start + size]


def init_schema(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(SCHEMA.read_text(encoding="utf-8").encode())


def play(dsn: str, events: list[dict[str, Any]], batch: int = 2000) -> Played:
    """Write ``events`` (any order; played in time order) into the database at ``dsn``;
    one transaction per ``batch`` events, as a busy application commits."""
    started = time.monotonic()
    ordered = sorted(events, key=lambda e: datetime.fromisoformat(e["occurred_at"]))
    played = Played()
    with psycopg.connect(dsn) as conn, conn.cursor() as cursor:
        writer = _Writer(cursor, played)
        for chunk in _chunks(ordered, batch):
            for event in chunk:
                writer.apply(event)
            conn.commit()
        for dossier in list(writer.pending):
            writer.flush(dossier)
        conn.commit()
    played.seconds = round(time.monotonic() - started, 2)
    return played
