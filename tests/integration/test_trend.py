"""Trends across a registry change against real Redis: ``GET /api/trend``, the
``trend`` command and the wall's trend panel and footnote (docs/dashboards.md, "Trends
across registry versions").

The registry is the bundled one plus a department file in which ``so-tu-phap-2025``
succeeds the 2022 Sở Tư pháp on 1 July 2025 (the bundled 2025 departments are a template
to fill). Dossiers are received and resolved at the old department in April–June 2025
and at the new one from July; one is still open on 1 July and passes to the successor.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.eventkit import raw
from tests.integration.conftest import Env
from tests.integration.test_wall import ARTIFACTS, get, launch, serving
from tthc_monitor.reference.bundled import bundled_path

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

OLD, NEW = "so-tu-phap", "so-tu-phap-2025"
NEW_NAME = "Sở Tư pháp tỉnh Quảng Trị"
JUSTICE = "qt.so-tu-phap.002"
COMMUNE = "phuong-18859"  # Phường Đồng Thuận: a 2025 commune, no predecessor
DEPARTMENTS = (
    "unit_id,name,parent_id,level,kind,district,report_group,report_order,"
    "valid_from,valid_to,successor_id,predecessor_id\n"
    f"{NEW},{NEW_NAME},,province,department,,I,1,2025-07-01,,,{OLD}\n"
)


def units_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "units"
    folder.mkdir()
    for name in ("quangtri-2022.csv", "quangtri-2025-communes.csv"):
        shutil.copy(bundled_path(f"quangtri/units/{name}"), folder / name)
    (folder / "quangtri-2025-departments.csv").write_text(DEPARTMENTS, encoding="utf-8")
    return folder


def dossier(
    name: str, unit: str, received: str, resolved: str | None, channel: str = "online"
) -> list[dict[str, Any]]:
    events = [
        raw(
            "received",
            name,
            received,
            unit,
            procedure_id=JUSTICE,
            channel=channel,
            due_at=received[:8] + "28 17:00",
        )
    ]
    if resolved:
        events.append(raw("resolved", name, resolved, unit, result="approved"))
    return events


def events() -> list[dict[str, Any]]:
    """Periods (cut day 15): 2025-05 is 15 Apr – 14 May, 2025-06 15 May – 14 Jun,
    2025-07 15 Jun – 14 Jul (the change on 1 July inside it), 2025-08 15 Jul – 14 Aug."""
    out: list[dict[str, Any]] = []
    out += dossier("T-01", OLD, "2025-05-05 09:00", "2025-05-08 10:00")
    out += dossier("T-02", OLD, "2025-05-06 09:00", "2025-05-09 10:00", "direct")
    out += dossier("T-03", OLD, "2025-06-02 09:00", "2025-06-05 10:00")
    out += dossier("T-04", OLD, "2025-06-20 09:00", "2025-06-23 10:00")
    # Open at the change: passes to the successor, resolved there (late: due 28 June).
    out += dossier("T-05", OLD, "2025-06-24 09:00", None)
    out.append(raw("resolved", "T-05", "2025-07-03 10:00", NEW, result="approved"))
    out += dossier("T-06", NEW, "2025-07-02 09:00", "2025-07-07 10:00")
    out += dossier("T-07", NEW, "2025-07-20 09:00", "2025-07-22 10:00")
    out += dossier("T-08", NEW, "2025-07-21 09:00", "2025-07-23 10:00")
    out += dossier("T-09", COMMUNE, "2025-07-21 09:00", "2025-07-23 10:00")
    return out


@pytest.fixture
def loaded(env: Env, tmp_path: Path) -> Env:
    env.extra["TTHC_UNITS"] = str(units_folder(tmp_path))
    source = tmp_path / "events.jsonl"
    source.write_text("".join(json.dumps(e) + "\n" for e in events()), encoding="utf-8")
    result = env.cli("replay", str(source))
    # Every event applied: none refused as at a unit out of force.
    assert f"{len(events())} applied" in result.stdout + result.stderr, result.stderr
    return env


def test_api_sums_the_predecessor_and_names_it(loaded: Env, tmp_path: Path) -> None:
    with serving(loaded, tmp_path / "serve.log", "--period", "2025-08") as base:
        status, body = get(f"{base}/api/trend?unit={NEW}&figure=received_new&periods=4")
        assert status == 200, body
        assert body["periods"] == ["2025-05", "2025-06", "2025-07", "2025-08"]
        points = {p["period"]: p for p in body["points"]}
        assert [p["value"] for p in body["points"]] == [2, 1, 3, 2]
        old = {"unit_id": OLD, "name": "Sở Tư pháp", "last_day": "2025-06-30"}
        assert points["2025-05"]["summed_from"] == [old]
        assert points["2025-05"]["in_force"] is False
        assert points["2025-07"]["summed_from"] == [old]  # T-04, T-05 before the change
        assert points["2025-08"]["summed_from"] == []
        assert points["2025-08"]["in_force"] is True
        assert body["name"] == NEW_NAME and body["predecessors"] == [old]
        assert body["note"] == "Gồm số liệu của đơn vị tiền nhiệm: Sở Tư pháp"

        # A rate: numerators and denominators summed; T-05 resolved late at the new unit.
        _, rate = get(f"{base}/api/trend?unit={NEW}&figure=on_time_rate&periods=4")
        assert [(p["numerator"], p["denominator"]) for p in rate["points"]] == [
            (2, 2),
            (1, 1),
            (2, 3),
            (2, 2),
        ]
        assert rate["points"][2]["value"] == round(2 / 3, 4)

        # A figure with levels: 2025-08 carries over nothing; 2025-07 counts T-05 once.
        _, received = get(f"{base}/api/trend?unit={NEW}&figure=received&periods=4")
        assert [p["value"] for p in received["points"]] == [2, 1, 3, 2]

        # The old unit alone: its own figures, no predecessor; history is not moved.
        _, alone = get(f"{base}/api/trend?unit={OLD}&figure=received_new&periods=4")
        assert [p["value"] for p in alone["points"]] == [2, 1, 2, 0]
        assert alone["note"] == "" and alone["summed_from"] == []

        # The province: every row, no lineage.
        _, province = get(f"{base}/api/trend?figure=received_new&periods=4")
        assert province["unit_id"] == "province" and province["name"] == "Toàn tỉnh"
        assert [p["value"] for p in province["points"]] == [2, 1, 3, 3]

        # Every report row listed in the last period, each with its own predecessors.
        _, rows = get(f"{base}/api/trend?unit=rows&figure=received_new&periods=4")
        by_unit = {t["unit_id"]: t for t in rows["trends"]}
        assert by_unit[NEW]["summed_from"] == [old]
        assert by_unit[COMMUNE]["summed_from"] == []
        assert OLD not in by_unit  # out of force and idle in 2025-08

        for query, code in (
            ("unit=nowhere", 404),
            ("figure=nothing", 400),
            ("periods=0", 400),
            ("periods=25", 400),
            ("period=2025-13", 400),
            ("periods=" + "9" * 5000, 400),
            ("periods=%C2%B2", 400),  # "²": a digit to str.isdigit, not to int()
        ):
            assert get(f"{base}/api/trend?{query}")[0] == code, query


def test_cli_prints_the_trend_in_vietnamese(loaded: Env, tmp_path: Path) -> None:
    args = ("trend", "--unit", NEW, "--figure", "received_new", "--periods", "4")
    result = loaded.cli(*args, "--period", "08/2025")
    lines = result.stdout.splitlines()
    assert lines[0] == f"Tiếp nhận mới — {NEW_NAME}, 4 kỳ từ 5/2025 đến 8/2025"
    assert lines[2].split() == ["5/2025", "2", "¹", "Sở", "Tư", "pháp"]
    assert lines[-1] == "¹ Gồm số liệu của đơn vị tiền nhiệm: Sở Tư pháp (đến hết 30/06/2025)"
    out = tmp_path / "trend.json"
    loaded.cli(*args, "--period", "2025-08", "--json", str(out))
    assert [p["value"] for p in json.loads(out.read_text())["points"]] == [2, 1, 3, 2]
    rate = loaded.cli("trend", "--unit", NEW, "--figure", "on_time_rate", "--period", "2025-07")
    assert "66,7% (2/3)" in rate.stdout
    assert loaded.cli("trend", "--unit", "nowhere", check=False).returncode == 2


def test_wall_shows_the_trends_and_the_footnote(loaded: Env, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    with (
        serving(loaded, tmp_path / "serve.log", "--period", "2025-08") as base,
        sync_playwright() as p,
    ):
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1920, "height": 1080}, locale="vi-VN")
        page.goto(base + "/")
        # Both reads done: the summary (the rows) and the trends (lines, panel).
        page.wait_for_function("document.body.dataset.applied !== undefined", timeout=15_000)
        page.wait_for_function("document.body.dataset.trends === 'ready'", timeout=15_000)
        # The province's panel: the last period's figures, Vietnamese formats.
        _, province = get(f"{base}/api/trend?figure=received_new&periods=12")
        panel = page.locator("[data-trend='received_new'] .last")
        assert panel.inner_text() == str(province["points"][-1]["value"])
        assert page.locator("[data-trend='on_time_rate'] .last").inner_text() == "100%"
        assert page.locator("#trend-range").inner_text() == "09/2024 – 08/2025"
        # The new department's row is marked and the footnote names its predecessor.
        found = False
        for k in range(1, page.evaluate("wall.pages()") + 1):
            page.evaluate(f"wall.show({k})")
            if page.locator(f"tr[data-unit='{NEW}']").count():
                found = True
                break
        assert found
        cell = page.locator(f"tr[data-unit='{NEW}'] td.trend")
        assert cell.get_attribute("data-summed") == OLD
        assert cell.locator("svg polyline").count() >= 1
        note = page.locator("#trend-note")
        assert note.is_visible()
        assert note.inner_text() == (
            "¹ Xu hướng gồm số liệu của đơn vị tiền nhiệm: Sở Tư pháp (đến hết 30/06/2025)"
        )
        footer_top = page.locator("footer").bounding_box()["y"]
        for selector in ("#trend-note", ".trends", f"tr[data-unit='{NEW}']"):
            box = page.locator(selector).bounding_box()
            assert box is not None and box["y"] + box["height"] <= footer_top, selector
        # A page without a marked row has no footnote.
        page.evaluate(f"wall.show({k % page.evaluate('wall.pages()') + 1})")
        if not page.locator("td.trend[data-summed]").count():
            assert note.inner_text() == ""
        page.evaluate(f"wall.show({k})")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "wall-trend.png"))
        browser.close()
