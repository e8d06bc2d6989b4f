"""Vietnamese display names: units and indicators from tthc_monitor/reference, label values."""

from __future__ import annotations

import csv
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
UNITS_CSV = ROOT / "tthc_monitor" / "reference" / "data" / "quangtri" / "units.csv"
INDICATORS_JSON = ROOT / "tthc_monitor" / "reference" / "data" / "index766.json"

RATE_NAMES = {
    "online": "Trực tuyến (PL1)",
    "on_time": "Đúng hạn (PL3)",
    "components_full": "Số hóa thành phần (PL2)",
    "results": "Số hóa kết quả (PL2)",
    "online_payment": "Thanh toán trực tuyến (PL5/PL6)",
}
STATE_NAMES = {
    "overdue": "Quá hạn",
    "due_today": "Đến hạn hôm nay",
    "due_soon": "Đến hạn ngày làm việc tới",
    "within": "Còn hạn",
}
OUTCOME_NAMES = {
    "applied": "Đã áp dụng",
    "duplicate": "Trùng lặp",
    "refused": "Sai thứ tự (từ chối)",
    "dead_letter": "Thư chết (lỗi)",
}
LEVEL_NAMES = {
    "due_soon": "Sắp đến hạn",
    "due_today": "Đến hạn hôm nay",
    "overdue": "Quá hạn",
    "apology_missing": "Chưa xin lỗi",
}


def units() -> list[dict[str, str]]:
    with UNITS_CSV.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def unit_names(top_level_only: bool = False) -> dict[str, str]:
    rows = units()
    if top_level_only:
        rows = [r for r in rows if not r["parent_id"] and r["report_group"]]
    return {r["unit_id"]: r["name"] for r in rows}


def indicator_names() -> dict[str, str]:
    data = json.loads(INDICATORS_JSON.read_text(encoding="utf-8"))
    return {i["id"]: f"{i['id']} {i['name']}" for i in data["indicators"]}
