"""The stored forms of frozen versions, their index entries and adjustments (JSON).

The rules (:mod:`tthc_monitor.core.freeze`) work on documents and dataclasses; this
module is how :mod:`tthc_monitor.store.snapshots` writes and reads them in Redis
(docs/redis-layout.md, "Snapshots"). Adjustments are written by
``record_adjustments.lua``, so only their decoding lives here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tthc_monitor.core.freeze import Adjustment, VersionInfo

__all__ = ["decode_adjustment", "decode_version_info", "encode_document", "encode_version_info"]


def encode_document(document: Mapping[str, Any]) -> str:
    """A frozen version: compact and deterministic, so every export is byte-identical."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def encode_version_info(info: VersionInfo) -> str:
    """One entry of a period's index of versions (the period is in the key)."""
    return json.dumps(
        {
            "version": info.version,
            "months": info.months,
            "as_of": info.as_of,
            "kind": info.kind,
            "adjustments": info.adjustments,
        },
        separators=(",", ":"),
    )


def decode_version_info(period: str, text: str) -> VersionInfo:
    raw = json.loads(text)
    return VersionInfo(
        period,
        int(raw["months"]),
        int(raw["version"]),
        str(raw["as_of"]),
        str(raw["kind"]),
        int(raw["adjustments"]),
    )


def decode_adjustment(period: str, text: str) -> Adjustment:
    raw = json.loads(text)
    return Adjustment(
        period,
        str(raw["event_id"]),
        tuple(str(e) for e in raw["event_ids"]),
        str(raw["dossier_id"]),
        str(raw["applied_at"]),
        {str(k): int(v) for k, v in raw["changes"].items()},
        {int(k): int(v) for k, v in raw["after"].items()},
    )
