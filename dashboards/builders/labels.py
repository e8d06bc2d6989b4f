"""Vietnamese names of the bounded label values (rates, due states, outcomes, levels) and
of the Decision 766 indicators. Units are not here: their names come from the data
(`tthc_unit_info`, see queries.py)."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# National configuration (Decision 766), the same for every province.
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
# Legends of the unit dashboard's hourly panel: "<flow> <label value>".
FLOW_NAMES = {
    "Tiếp nhận online": "Tiếp nhận trực tuyến",
    "Tiếp nhận direct": "Tiếp nhận trực tiếp",
    "Giải quyết early": "Giải quyết trước hạn",
    "Giải quyết on_time": "Giải quyết đúng hạn",
    "Giải quyết late": "Giải quyết trễ hạn",
}
LAG_SINCE = {"occurred": "từ khi xảy ra", "arrival": "từ khi vào Kafka"}
LEVEL_NAMES = {
    "due_soon": "Sắp đến hạn",
    "due_today": "Đến hạn hôm nay",
    "overdue": "Quá hạn",
    "apology_missing": "Chưa xin lỗi",
}


def indicator_names() -> dict[str, str]:
    data = json.loads(INDICATORS_JSON.read_text(encoding="utf-8"))
    return {i["id"]: f"{i['id']} {i['name']}" for i in data["indicators"]}
