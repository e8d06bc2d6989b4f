"""The built-in wall page and JSON API of `serve`, in headless Chromium (Debian's)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.integration import scenario
from tests.integration.conftest import ROOT, Env
from tests.programs import require
from tthc_monitor.core.periods import LOCAL_TZ
from tthc_monitor.embedded import free_port

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]
ARTIFACTS = ROOT / "test-artifacts"
TOKEN = "test-admin-token"


@pytest.fixture
def served(env: Env, tmp_path: Path) -> Iterator[tuple[Env, str]]:
    source = tmp_path / "scenario.jsonl"
    source.write_bytes(b"\n".join(scenario.stream()) + b"\n")
    env.cli("replay", str(source))
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tthc_monitor.cli.main",
            "serve",
            "--port",
            str(port),
            "--period",
            "2022-04",
        ],
        env=env.vars() | {"TTHC_ADMIN_TOKEN": TOKEN},
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), 0.5):
                break
        except OSError:
            time.sleep(0.1)
    try:
        yield env, f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


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


def test_wall_page_in_chromium(served: tuple[Env, str], tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    chromium = require("chromium", "chromium")

    env, base = served
    _, api = get(f"{base}/api/summary")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-quic",
            ],
        )
        page = browser.new_page(viewport={"width": 1920, "height": 1080}, locale="vi-VN")
        requested: list[str] = []
        page.on("request", lambda r: requested.append(r.url))
        page.goto(base + "/")
        page.wait_for_function("document.body.dataset.applied !== undefined")
        # Every number on the page is the API's, formatted the Vietnamese way.
        row = page.locator(f"tr[data-unit='{scenario.S}']")
        api_row = next(u for u in api["units"] if u["unit_id"] == scenario.S)
        assert row.locator("[data-field='period.received']").inner_text() == str(
            api_row["period"]["received"]
        )
        assert page.locator("[data-field='today.received']").inner_text() == "0"
        assert all(url.startswith(base) for url in requested), "no external resources"
        # New events are applied: the page shows them within its 5 s polling.
        source = tmp_path / "today.jsonl"
        source.write_bytes(today_events())
        env.cli("replay", str(source))
        page.wait_for_function(
            "document.querySelector(\"[data-field='today.received']\").textContent === '2'",
            timeout=15_000,
        )
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "wall.png"))
        browser.close()
