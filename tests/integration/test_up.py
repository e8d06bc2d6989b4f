"""``tthc-monitor up`` end to end: its servers, the up file, and Ctrl-C.

``up`` runs as the user runs it (``make up`` in a terminal): in its own process group,
which then gets the terminal's SIGINT as a whole (os.killpg). Another shell's commands,
without TTHC_KAFKA_BOOTSTRAP / TTHC_REDIS_URL, find its servers through the up file.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.eventkit import raw
from tests.integration.conftest import ROOT
from tthc_monitor import upfile
from tthc_monitor.embedded import free_port

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

UNIT = "so-tu-phap"
PROCEDURE = "qt.so-tu-phap.002"
STOP_WITHIN = 10.0


def clean_env(tmp_path: Path) -> dict[str, str]:
    """This user's environment without any TTHC_* setting, the up file in tmp_path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TTHC_")}
    env.update(
        PYTHONPATH=str(ROOT),
        TTHC_UP_FILE=str(tmp_path / "state" / "up.json"),
        TTHC_DATA_DIR=str(tmp_path / "faust"),
    )
    return env


def runs(pid: int) -> bool:
    """Whether ``pid`` is a process that has not ended (a zombie has ended)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rpartition(")")[2].split()[0] != "Z"
    return True


def group_runs(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def wall_answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200 and b"<html" in response.read().lower())
    except OSError:
        return False


def test_up_serves_the_other_commands_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    up_file = Path(env["TTHC_UP_FILE"])
    serve_port = free_port()
    log_path = tmp_path / "up.log"
    command = [
        sys.executable,
        "-m",
        "tthc_monitor.cli.main",
        "up",
        "--kafka-port",
        str(free_port()),
        "--redis-port",
        str(free_port()),
        "--serve-port",
        str(serve_port),
    ]
    with log_path.open("wb") as log:
        up = subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    pids: dict[str, int] = {}

    def output() -> str:
        return log_path.read_text(errors="replace")

    try:
        # Up: the wall page answers on the serve port and the up file names the servers.
        wall = f"http://127.0.0.1:{serve_port}/"
        deadline = time.monotonic() + 180
        while not (up_file.exists() and wall_answers(wall)):
            assert up.poll() is None, f"up exited with {up.returncode}:\n{output()[-5000:]}"
            assert time.monotonic() < deadline, f"up not ready in 180 s:\n{output()[-5000:]}"
            time.sleep(0.2)
        state = json.loads(up_file.read_text())
        pids = {name: int(pid) for name, pid in state["processes"].items()}
        assert set(pids) == {"tansu", "redis", "worker", "serve"}, state
        assert state["pid"] == up.pid
        assert state["serve_url"] == wall
        assert up_file.stat().st_mode & 0o077 == 0, "the up file is private to its user"
        assert all(runs(pid) for pid in pids.values()), state

        # Another shell, no TTHC_KAFKA_BOOTSTRAP / TTHC_REDIS_URL: the up file is used.
        events = tmp_path / "events.jsonl"
        lines = [
            raw(
                "received",
                f"UP{i:02d}",
                "2022-03-21 09:00",
                UNIT,
                procedure_id=PROCEDURE,
                channel="online",
                due_at="2022-03-31 17:00",
            )
            for i in range(3)
        ]
        events.write_text("".join(json.dumps(line) + "\n" for line in lines))

        def cli(*args: str) -> subprocess.CompletedProcess[str]:
            result = subprocess.run(
                [sys.executable, "-m", "tthc_monitor.cli.main", *args],
                env=env,
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert result.returncode == 0, (
                f"{args[0]} exited {result.returncode}\nstdout: {result.stdout[-3000:]}\n"
                f"stderr: {result.stderr[-3000:]}\nup: {output()[-3000:]}"
            )
            named = [line for line in result.stderr.splitlines() if str(up_file) in line]
            assert len(named) == 1, f"one stderr line names the up file:\n{result.stderr}"
            assert state["kafka_bootstrap"] in named[0] and state["redis_url"] in named[0]
            return result

        cli("publish", str(events), "--wait", "--timeout", "180")
        out = tmp_path / "snapshot.json"
        cli("snapshot", "--period", "2022-04", "--json", str(out))
        by_unit = {u["unit_id"]: u for u in json.loads(out.read_text())["units"]}
        assert by_unit[UNIT]["received_online"] == 3

        # Ctrl-C in up's terminal: SIGINT to its whole process group.
        assert up.poll() is None, output()[-5000:]
        sent = time.monotonic()
        os.killpg(up.pid, signal.SIGINT)
        try:
            status = up.wait(STOP_WITHIN)
        except subprocess.TimeoutExpired:
            pytest.fail(f"up still runs {STOP_WITHIN:.0f} s after SIGINT:\n{output()[-5000:]}")
        took = time.monotonic() - sent
        # The children were reaped by up, so they are gone by now; allow the kernel a
        # moment to finish tearing them down.
        deadline = time.monotonic() + 1.0
        while any(runs(pid) for pid in pids.values()) and time.monotonic() < deadline:
            time.sleep(0.05)
        took_all = time.monotonic() - sent
        print(f"SIGINT to exit: up {took:.2f} s, every process {took_all:.2f} s")

        text = output()
        assert status == 0, f"up exited {status}:\n{text[-5000:]}"
        assert took_all <= STOP_WITHIN, f"{took_all:.1f} s"
        assert "Traceback" not in text, text[-8000:]
        assert "[WARNING] ^" not in text, "a traceback logged one character per line"
        left = {name: pid for name, pid in pids.items() if runs(pid)}
        assert not left, f"still running after up exited: {left}\n{text[-5000:]}"
        assert not group_runs(up.pid), "a process of up's group is left"
        assert not up_file.exists(), "up removes its file when it stops"
        # In order: the worker, serve, then the broker and Redis.
        summary = [line for line in text.splitlines() if line.startswith("stopped ")]
        assert len(summary) == 1, text[-3000:]
        order = summary[0]
        assert order.index("worker") < order.index("serve") < order.index("tansu"), order
        assert "killed" not in text, text[-3000:]
    finally:
        if up.poll() is None:
            os.killpg(up.pid, signal.SIGKILL)
            up.wait()
        for pid in pids.values():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def test_a_stale_up_file_is_ignored(tmp_path: Path) -> None:
    """The file of an ``up`` that no longer runs (killed, machine restarted) is ignored."""
    env = clean_env(tmp_path)
    up_file = Path(env["TTHC_UP_FILE"])
    up_file.parent.mkdir(parents=True)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    up_file.write_text(
        json.dumps(
            {
                "pid": dead.pid,
                "kafka_bootstrap": "127.0.0.1:1",
                "redis_url": "redis://127.0.0.1:1/0",
                "processes": {},
            }
        )
    )
    result = subprocess.run(
        [sys.executable, "-m", "tthc_monitor.cli.main", "snapshot", "--period", "2022-04"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert str(up_file) not in result.stderr
    assert "TTHC_REDIS_URL is not set" in result.stderr


def test_the_up_file_never_holds_a_password(tmp_path: Path) -> None:
    assert upfile.without_password("redis://u:s3cret@h:1/0") == ("redis://u@h:1/0", True)
    assert upfile.without_password("rediss://:s3cret@h:1/0?ssl_ca_certs=/ca") == (
        "rediss://h:1/0?ssl_ca_certs=/ca",
        True,
    )
    assert upfile.without_password("unix:///run/r.sock?db=0&password=s3cret") == (
        "unix:///run/r.sock?db=0",
        True,
    )
    assert upfile.without_password("redis://h:1/0") == ("redis://h:1/0", False)
    path = tmp_path / "dir" / "up.json"
    upfile.write(path, upfile.UpServers(pid=os.getpid(), kafka_bootstrap="k:1", redis_url="r"))
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
