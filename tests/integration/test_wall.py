"""The built-in wall page and JSON API of `serve`, in headless Chromium (Debian's).

Two data sets: the hand-written scenario (small, exact figures; live updates) and the
simulated April 2022 month of Quảng Trị (all 33 report rows; the screenshot the README
shows, docs/img/wall.png) as it stood at 10:00 on Thursday 31 March 2022, a busy working
day in the middle of the period: every event of the month up to then, served with a test
clock 12 s later.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis as AsyncRedis

from tests.fixtures import APRIL_2022_DAYS
from tests.integration import scenario
from tests.integration.conftest import ROOT, Env
from tests.programs import require
from tthc_monitor.core.periods import LOCAL_TZ
from tthc_monitor.embedded import free_port
from tthc_monitor.reference.bundled import bundled_path
from tthc_monitor.reference.registry import load_registry
from tthc_monitor.store.freshness import read_freshness, record_applied
from tthc_monitor.store.keys import Keys
from tthc_monitor.store.overdue import most_overdue

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]
ARTIFACTS = ROOT / "test-artifacts"
SCREENSHOTS = ROOT / "docs" / "img"
TOKEN = "test-admin-token"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]
MONTH_CUT = datetime(2022, 3, 31, 10, 0, tzinfo=LOCAL_TZ)
"""The month's events up to this instant are replayed (a Thursday, working hours)."""
MONTH_NOW = MONTH_CUT + timedelta(seconds=12)


@contextmanager
def serving(env: Env, log: Path, *args: str, **extra: str) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tthc_monitor.cli.main", "serve", "--port", str(port), *args],
        env=env.vars() | extra,
        cwd=ROOT,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), 0.5):
                break
        except OSError:
            assert process.poll() is None, log.read_text(errors="replace")
            time.sleep(0.1)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture
def served(env: Env, tmp_path: Path) -> Iterator[tuple[Env, str]]:
    # The page test sends events dated today to 2022 units, so it runs on the 2022 units
    # without their end date (a province that has not reorganised): with the bundled
    # versions they would be refused as out of force, as they should.
    units = tmp_path / "units-2022.csv"
    rows = bundled_path("quangtri/units/quangtri-2022.csv").read_text(encoding="utf-8")
    units.write_text(rows.replace(",2025-07-01,", ",,"), encoding="utf-8")
    env.extra["TTHC_UNITS"] = str(units)
    source = tmp_path / "scenario.jsonl"
    source.write_bytes(b"\n".join(scenario.stream()) + b"\n")
    env.cli("replay", str(source), "--skip-invalid")
    with serving(
        env, tmp_path / "serve.log", "--period", "2022-04", TTHC_ADMIN_TOKEN=TOKEN
    ) as base:
        yield env, base


def get(url: str, **kwargs: Any) -> tuple[int, Any]:
    request = urllib.request.Request(url, **kwargs)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def today_events() -> bytes:
    """Two dossiers received now at Sở Tư pháp: the wall's 'today' must show them."""
    now = datetime.now(LOCAL_TZ).replace(microsecond=0)
    lines = [
        {
            "schema_version": 1,
            "event_id": f"wall-{i}",
            "type": "received",
            "dossier_id": f"WALL-{i}",
            "occurred_at": (now - timedelta(minutes=i)).isoformat(),
            "unit_id": scenario.S,
            "procedure_id": scenario.JUSTICE,
            "channel": "online",
            "due_at": (now + timedelta(days=10)).isoformat(),
        }
        for i in range(2)
    ]
    return b"\n".join(json.dumps(e).encode() for e in lines) + b"\n"


def test_api(served: tuple[Env, str]) -> None:
    _, base = served
    status, body = get(f"{base}/api/summary")
    assert status == 200 and body["period"] == "2022-04"
    row = next(u for u in body["units"] if u["unit_id"] == scenario.S)
    assert row["period"]["received"] == 10 + 3  # online + carried over (scenario.py)
    assert 0 < row["index766_points"] <= row["index766_max"] <= 100
    # The data's time is the latest event applied, not the server's clock.
    latest = max(datetime.fromisoformat(e["occurred_at"]) for e in scenario.events())
    assert datetime.fromisoformat(body["freshness"]["event_at"]) == latest
    status, fresh = get(f"{base}/api/freshness")
    assert status == 200 and fresh["event_at"] == body["freshness"]["event_at"]
    # The overdue list: ids and names, most overdue first (scenario: B05 at Sở Y tế, due
    # 10/3/2022, is still open; so is X's stage held by L, among others).
    overdue = body["overdue"]
    assert overdue and len(overdue) <= 10
    assert [o["due_at"] for o in overdue] == sorted(o["due_at"] for o in overdue)
    assert overdue[0]["unit_name"] == load_registry().unit(overdue[0]["unit_id"]).name
    assert all(o["overdue_working_days"] > 100 for o in overdue)  # years, by the wall clock
    assert get(f"{base}/api/summary?period=2022-13")[0] == 400
    assert get(f"{base}/api/units/nowhere/due")[0] == 404
    assert get(f"{base}/api/snapshots/freeze?period=2022-04", method="POST")[0] == 401
    wrong = {"Authorization": "Bearer nope"}
    assert (
        get(f"{base}/api/snapshots/freeze?period=2022-04", method="POST", headers=wrong)[0] == 401
    )
    right = {"Authorization": f"Bearer {TOKEN}"}
    status, body = get(f"{base}/api/snapshots/freeze?period=2022-04", method="POST", headers=right)
    assert status == 200 and body["versions"]["1"] == 1


def test_freshness_record_moves_forward_only(env: Env) -> None:
    """A late event does not make the data look older; a future one is capped at now."""

    async def run() -> list[datetime | None]:
        client = AsyncRedis.from_url(env.services.redis_url)
        seen = []
        try:
            t = datetime(2022, 4, 6, 10, 0, tzinfo=LOCAL_TZ)
            for at in (t, t - timedelta(hours=1), t + timedelta(days=3650)):
                await record_applied(client, env.namespace, at)
                seen.append(read_freshness(env.redis(), env.namespace).event_at)
        finally:
            await client.aclose()
        return seen

    first, after_late, after_future = asyncio.run(run())
    assert first == after_late == datetime(2022, 4, 6, 10, 0, tzinfo=LOCAL_TZ)
    assert after_future is not None
    assert abs((after_future - datetime.now(LOCAL_TZ)).total_seconds()) < 60


def test_most_overdue_takes_turns_between_units(env: Env) -> None:
    """Most overdue first; equally overdue spans alternate between units; not yet due and
    other units' later dues are left out."""
    client, keys = env.redis(), Keys(env.namespace)
    due = datetime(2022, 3, 10, 17, 0, tzinfo=LOCAL_TZ).timestamp()
    client.zadd(keys.open_index("a"), {f"A{i:02d}|owner": due for i in range(30)})
    client.zadd(keys.open_index("b"), {"B0|owner": due, "B1|interagency": due - 3600})
    client.zadd(keys.open_index("c"), {"C0|owner": due + 86400, "C1|owner": due + 10**7})
    now = datetime(2022, 3, 31, 10, 0, tzinfo=LOCAL_TZ)
    spans = most_overdue(client, keys, ["a", "b", "c"], now, 4)
    assert [(s.unit_id, s.dossier_id, s.stage) for s in spans] == [
        ("b", "B1", "interagency"),  # an hour earlier than the rest
        ("a", "A00", "owner"),
        ("b", "B0", "owner"),
        ("a", "A01", "owner"),
    ]
    assert [s.dossier_id for s in most_overdue(client, keys, ["c"], now, 4)] == ["C0"]


def launch(p: Any) -> Any:
    chromium = require("chromium", "chromium")
    return p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)


def test_wall_page_in_chromium(served: tuple[Env, str], tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    env, base = served
    _, api = get(f"{base}/api/summary")
    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1920, "height": 1080}, locale="vi-VN")
        requested: list[str] = []
        page.on("request", lambda r: requested.append(r.url))
        page.goto(base + "/")
        page.wait_for_function("document.body.dataset.applied !== undefined")
        # Every number on the page is the API's, formatted the Vietnamese way.
        page.evaluate(f"wall.show({page_of(page, scenario.S)})")
        row = page.locator(f"tr[data-unit='{scenario.S}']")
        api_row = next(u for u in api["units"] if u["unit_id"] == scenario.S)
        assert row.locator("[data-field='period.received']").inner_text() == str(
            api_row["period"]["received"]
        )
        assert page.locator("[data-field='today.received']").inner_text() == "0"
        assert all(url.startswith(base) for url in requested), "no external resources"
        # New events are applied: the page shows them within its 5 s polling, and the
        # data's time moves to theirs.
        source = tmp_path / "today.jsonl"
        source.write_bytes(today_events())
        env.cli("replay", str(source), "--skip-invalid")
        page.wait_for_function(
            "document.querySelector(\"[data-field='today.received']\").textContent === '2'",
            timeout=15_000,
        )
        assert re.fullmatch(r"\d+ giây trước", page.locator("#fresh-age").inner_text())
        assert page.evaluate("document.body.dataset.stale") == "false"
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "wall-scenario.png"))
        browser.close()


def page_of(page: Any, unit_id: str) -> int:
    """The wall page (1-based) on which ``unit_id``'s row is, turning the pages."""
    for k in range(1, page.evaluate("wall.pages()") + 1):
        page.evaluate(f"wall.show({k})")
        if page.locator(f"tr[data-unit='{unit_id}']").count():
            return k
    raise AssertionError(f"{unit_id} is on no page")


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The simulated month's events that occurred by ``MONTH_CUT``: the stream so far."""
    out = tmp_path_factory.mktemp("month") / "quangtri-2022-04.jsonl"
    subprocess.run(
        [
            *(sys.executable, "-m", "tthc_monitor.cli.main"),
            *("simulate", "quangtri-2022-04", "--out", str(out)),
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=300,
    )
    so_far = out.with_name("so-far.jsonl")
    with out.open("rb") as source, so_far.open("wb") as sink:
        for line in source:
            if datetime.fromisoformat(json.loads(line)["occurred_at"]) <= MONTH_CUT:
                sink.write(line)
    return so_far


def vn(n: int) -> str:
    return f"{n:,}".replace(",", ".")


def test_month_wall_shows_every_unit(env: Env, month: Path, tmp_path: Path) -> None:
    """Every report row on some page, inside the screen; freshness; the overdue list;
    the 766 score as 'x / max'; dimmed when stale in working hours only."""
    from playwright.sync_api import sync_playwright

    clock = tmp_path / "now.txt"
    clock.write_text(MONTH_NOW.isoformat())
    env.cli("replay", str(month), timeout=600)
    registry = load_registry()
    report_rows = set(registry.top_level(APRIL_2022_DAYS))
    assert len(report_rows) == 33
    with (
        serving(
            env, tmp_path / "serve.log", "--period", "2022-04", TTHC_CLOCK_FILE=str(clock)
        ) as base,
        sync_playwright() as p,
    ):
        _, api = get(f"{base}/api/summary")
        assert {u["unit_id"] for u in api["units"]} == report_rows
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1920, "height": 1080}, locale="vi-VN")
        page.goto(base + "/")
        page.wait_for_function("document.body.dataset.applied !== undefined")

        # Every unit on some page, each row fully on the screen, above the footer.
        pages = page.evaluate("wall.pages()")
        assert pages == 3
        footer_top = page.locator("footer").bounding_box()["y"]
        seen: list[str] = []
        for k in range(1, pages + 1):
            page.evaluate(f"wall.show({k})")
            assert page.locator("#page").inner_text() == f"Trang {k}/{pages}"
            for row in page.locator("tr[data-unit]").all():
                box = row.bounding_box()
                assert box is not None and box["y"] + box["height"] <= footer_top
                seen.append(row.get_attribute("data-unit") or "")
        assert sorted(seen) == sorted(report_rows)  # each once
        assert page.locator("#sort").inner_text().startswith("Sắp xếp: ")
        # The order written on screen is the order shown: overdue, most first.
        by_id = {u["unit_id"]: u for u in api["units"]}
        overdue = [by_id[u]["open"]["overdue"] for u in seen]
        assert overdue == sorted(overdue, reverse=True)

        # Vietnamese formats: 1.234 and 45,3 / 58.
        page.evaluate("wall.show(1)")
        first = page.locator("tr[data-unit]").first
        unit = by_id[first.get_attribute("data-unit") or ""]
        assert first.locator("[data-field='period.received']").inner_text() == vn(
            unit["period"]["received"]
        )
        for tile in ("today.received", "open.overdue", "open.due_today"):
            head, name = tile.split(".")
            value = api["totals"][head][name]
            assert value > 0, tile  # a busy morning: nothing to show would prove nothing
            assert page.locator(f".tiles [data-field='{tile}']").inner_text() == vn(value)
        score = first.locator("[data-field='index766']").inner_text()
        assert re.fullmatch(r"\d+(,\d)? / \d+(,\d)?", score), score

        # Freshness: the latest event's time and its age, by the server's clock.
        assert page.locator("#fresh-when").inner_text() == "Dữ liệu lúc 10:00:00"
        assert page.locator("#fresh-age").inner_text() == "12 giây trước"
        assert page.evaluate("document.body.dataset.stale") == "false"
        assert not page.locator("#fresh-warning").is_visible()

        # The most overdue spans: ten, ids and unit names, as the API lists them.
        items = page.locator("#overdue li[data-dossier]")
        assert items.count() == 10
        for item, row in zip(items.all(), api["overdue"], strict=True):
            assert item.get_attribute("data-dossier") == row["dossier_id"]
            text = item.inner_text()
            assert row["unit_name"] in text and "quá hạn" in text
            assert re.search(r"quá hạn \d+ ngày làm việc|quá hạn \d+(,\d)? giờ", text), text
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.wait_for_function("document.body.dataset.trends === 'ready'")  # trend lines drawn
        page.screenshot(path=str(SCREENSHOTS / "wall.png"))

        # The pages turn by themselves.
        page.wait_for_function("document.body.dataset.page === '2'", timeout=20_000)

        # 20 minutes without an event in working hours: dimmed, with a warning.
        clock.write_text((MONTH_NOW + timedelta(minutes=20)).isoformat())
        page.wait_for_function("document.body.dataset.stale === 'true'", timeout=15_000)
        assert page.locator("#fresh-warning").is_visible()
        assert "Số liệu có thể đã cũ" in page.locator("#fresh-warning").inner_text()
        assert page.locator("#fresh-age").inner_text() == "20 phút trước"
        opacity = page.evaluate("getComputedStyle(document.querySelector('.figures')).opacity")
        assert float(opacity) < 0.5
        page.evaluate("wall.show(1)")
        page.screenshot(path=str(SCREENSHOTS / "wall-stale.png"))

        # After office hours the same silence is normal: no warning.
        clock.write_text(MONTH_NOW.replace(hour=18, minute=30).isoformat())
        page.wait_for_function("document.body.dataset.stale === 'false'", timeout=15_000)
        assert not page.locator("#fresh-warning").is_visible()
        browser.close()
