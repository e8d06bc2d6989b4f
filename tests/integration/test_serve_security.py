"""`serve` is read-only by default, its one admin route needs the token, and every input
(path, query, body) is checked with a clear 400/404/409/413 before it reaches Redis."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.integration import scenario
from tests.integration.conftest import ROOT, Env
from tthc_monitor.embedded import free_port

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]
TOKEN = "s3cret-admin-token-for-tests"

Request = Callable[..., tuple[int, str]]


@contextmanager
def serving(env: Env, log: Path, **extra: str) -> Iterator[Request]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tthc_monitor.cli.main", "serve", "--port", str(port)],
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
            time.sleep(0.1)

    def call(
        path: str,
        method: str = "GET",
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, str]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}{path}", data=body, method=method, headers=headers or {}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    try:
        yield call
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture
def loaded(env: Env, tmp_path: Path) -> Env:
    source = tmp_path / "scenario.jsonl"
    source.write_bytes(b"\n".join(scenario.stream()) + b"\n")
    env.cli("replay", str(source), "--skip-invalid")
    return env


def fingerprint(env: Env) -> dict[str, bytes]:
    client = env.redis()
    return {k: client.dump(k) or b"" for k in client.scan_iter(f"{env.namespace}:*", count=1000)}


READ_ROUTES = (
    "/",
    "/metrics",
    "/healthz",
    "/api/summary",
    "/api/summary?period=2022-04",
    "/api/freshness",
    f"/api/units/{scenario.S}/due",
    "/api/snapshots?period=2022-04",
    "/api/snapshots?period=2022-04&months=3",
)


def test_read_only_without_a_token(loaded: Env, tmp_path: Path) -> None:
    before = fingerprint(loaded)
    with serving(loaded, tmp_path / "serve.log") as call:
        for route in READ_ROUTES:
            assert call(route)[0] == 200, route
        # Read routes take no other method.
        for route in (
            "/api/summary",
            "/api/freshness",
            f"/api/units/{scenario.S}/due",
            "/api/snapshots",
        ):
            for method in ("POST", "PUT", "DELETE", "PATCH"):
                assert call(route, method, body=b"{}")[0] == 405, (method, route)
        assert call("/api/snapshots/freeze")[0] == 405
        # The admin route is disabled: no token opens it, not even an empty one.
        for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": f"Bearer {TOKEN}"}):
            status, text = call("/api/snapshots/freeze?period=2022-04", "POST", headers=headers)
            assert status == 403 and "disabled" in text and "TTHC_ADMIN_TOKEN" in text
        assert call("/api/nothing-here")[0] == 404
    # Nothing was written by any of it.
    assert fingerprint(loaded) == before


def test_admin_token_is_required_and_checked(loaded: Env, tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    freeze = "/api/snapshots/freeze?period=2022-04"
    before = fingerprint(loaded)
    with serving(loaded, log, TTHC_ADMIN_TOKEN=TOKEN) as call:
        for headers in (
            {},
            {"Authorization": "Bearer"},
            {"Authorization": "Bearer wrong"},
            {"Authorization": f"Bearer {TOKEN}x"},
            {"Authorization": f"Bearer {TOKEN[:-1]}"},
            {"Authorization": TOKEN},  # the token without the scheme
            {"Authorization": f"Basic {TOKEN}"},
            {"X-Admin-Token": TOKEN},
        ):
            status, text = call(freeze, "POST", headers=headers)
            assert status == 401, (headers, status, text)
            assert "Bearer" in text
        assert fingerprint(loaded) == before  # refused requests changed nothing
        status, text = call(freeze, "POST", headers={"Authorization": f"Bearer {TOKEN}"})
        assert status == 200 and json.loads(text) == {"versions": {"1": 1}}
        status, text = call(freeze, "POST", headers={"Authorization": f"bearer {TOKEN}"})
        assert status == 200 and json.loads(text) == {"versions": {"1": 2}}
    assert TOKEN not in log.read_text()


@pytest.mark.parametrize(
    ("path", "status", "says"),
    [
        ("/api/summary?period=2022-13", 400, "period"),
        ("/api/summary?period=2022-4", 400, "period"),
        ("/api/summary?period=abcd", 400, "period"),
        ("/api/summary?period=2022-04%27%20OR%201%3D1", 400, "period"),
        ("/api/summary?period=" + "9" * 5000, 400, "period"),
        ("/api/snapshots?period=04-2022", 400, "period"),
        ("/api/snapshots?period=2022-04&months=0", 400, "months"),
        ("/api/snapshots?period=2022-04&months=13", 400, "months"),
        ("/api/snapshots?period=2022-04&months=-1", 400, "months"),
        ("/api/snapshots?period=2022-04&months=three", 400, "months"),
        ("/api/units/nowhere/due", 404, "unknown unit"),
        ("/api/units/SO-TU-PHAP/due", 404, "unknown unit"),
        ("/api/units/..%2F..%2Fetc/due", 404, ""),
        ("/api/units/" + "a" * 300 + "/due", 404, "unknown unit"),
        ("/api/units/so-tu-phap%00/due", 404, ""),
    ],
)
def test_query_and_path_are_validated(
    loaded: Env, tmp_path: Path, path: str, status: int, says: str
) -> None:
    with serving(loaded, tmp_path / "serve.log") as call:
        got, text = call(path)
    assert got == status, (path, got, text)
    assert says in text


def test_freeze_body_is_validated(loaded: Env, tmp_path: Path) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    freeze = "/api/snapshots/freeze"
    before = fingerprint(loaded)
    with serving(loaded, tmp_path / "serve.log", TTHC_ADMIN_TOKEN=TOKEN) as call:
        for body, says in (
            (b"{not json", "not valid JSON"),
            (b'["2022-04"]', "JSON object"),
            (b'"2022-04"', "JSON object"),
            (b'{"period": "2022-04", "unit": "x"}', "unknown field(s) unit"),
            (b'{"period": 202204}', "period"),
            (b'{"period": "2022-13"}', "period"),
            (b'{"period": "2022-04", "months": 0}', "months"),
            (b'{"period": "2022-04", "months": true}', "months"),
            (b'{"period": "2022-04", "months": 1.5}', "months"),
            (b'{"period": "2022-04", "months": 99}', "months"),
            (b"\xff\xfe", "not valid JSON"),
        ):
            status, text = call(freeze, "POST", body=body, headers=auth)
            assert status == 400 and says in text, (body, status, text)
        status, text = call(
            f"{freeze}?period=2022-03", "POST", body=b'{"period": "2022-04"}', headers=auth
        )
        assert status == 400 and "disagree" in text
        status, _ = call(freeze, "POST", body=b'{"period": "' + b"1" * 10000 + b'"}', headers=auth)
        assert status == 413
        assert fingerprint(loaded) == before  # nothing was frozen by a refused request
        # The current period has not ended: a clear conflict, not a 500.
        status, text = call(freeze, "POST", body=b"{}", headers=auth)
        assert status == 409 and "has not ended" in text
        status, text = call(
            freeze, "POST", body=b'{"period": "2022-04", "months": 3}', headers=auth
        )
        assert status == 200 and json.loads(text) == {"versions": {"3": 1}}
