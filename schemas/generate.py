"""Writes the JSON Schema files of the contract from the pydantic models.

Run ``python -m schemas.generate`` after changing a model; a test fails while the
committed files differ from what this produces.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter

from schemas.alerts import AlertMessage
from schemas.events import EVENT_ADAPTER
from schemas.reference import CalendarAdjustment, Procedure, Unit

HERE = Path(__file__).resolve().parent
BASE_ID = "https://tthc-monitor.invalid/schemas/"


def _document(name: str, title: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{BASE_ID}{name}",
        "title": title,
        **{k: v for k, v in schema.items() if k != "title"},
    }


def _model(model: type[BaseModel]) -> dict[str, Any]:
    return TypeAdapter(model).json_schema()


def documents() -> dict[str, dict[str, Any]]:
    return {
        "dossier_event.v1.schema.json": _document(
            "dossier_event.v1.schema.json",
            "Dossier lifecycle event, contract v1",
            EVENT_ADAPTER.json_schema(),
        ),
        "unit.v1.schema.json": _document("unit.v1.schema.json", "Unit", _model(Unit)),
        "procedure.v1.schema.json": _document(
            "procedure.v1.schema.json", "Procedure", _model(Procedure)
        ),
        "calendar_adjustment.v1.schema.json": _document(
            "calendar_adjustment.v1.schema.json", "Calendar adjustment", _model(CalendarAdjustment)
        ),
        "alert.v1.schema.json": _document(
            "alert.v1.schema.json", "Deadline alert, contract v1", _model(AlertMessage)
        ),
    }


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def main() -> int:
    for name, document in documents().items():
        (HERE / name).write_text(render(document), encoding="utf-8")
        print(f"wrote schemas/{name}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
