"""Every bad invocation ends in one line on stderr and a documented exit code, never a
traceback (docs/cli.md, "Exit codes"). Each case runs the real command in a subprocess,
with no service configured (or one at a port where nothing listens)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration import scenario
from tthc_monitor.cli.errors import UNAVAILABLE, USAGE
from tthc_monitor.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
NOWHERE = "127.0.0.1:1"
"""An address where nothing listens: connecting is refused at once."""


def run(
    *args: str, tmp: Path, stdin: bytes = b"", **extra: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TTHC_")}
    # No `tthc-monitor up` to fall back on: its file would name live servers.
    env.update(TTHC_UP_FILE=str(tmp / "no-up.json"), PYTHONPATH=str(ROOT), **extra)
    return subprocess.run(
        [sys.executable, "-m", "tthc_monitor.cli.main", *args],
        input=stdin.decode(),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp,
        check=False,
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("cli")
    good = [json.dumps(e, ensure_ascii=False) for e in scenario.events()[:6]]
    bad = json.dumps(scenario.events()[6] | {"channel": "fax"})
    mixed = folder / "mixed.jsonl"
    mixed.write_text("\n".join([*good[:2], bad, *good[2:]]) + "\n", encoding="utf-8")
    valid = folder / "valid.jsonl"
    valid.write_text("\n".join(json.dumps(e) for e in scenario.events()) + "\n")
    return {"mixed": mixed, "valid": valid, "dir": folder}


# (arguments, extra environment, exit code, a phrase the line must hold)
BAD: list[tuple[list[str], dict[str, str], int, str]] = [
    # The invocations of issue 16.
    (["snapshot", "--period", "2022-4"], {}, USAGE, "'2022-4' is not a period"),
    (
        ["digest", "--date", "14/04/2022", "--unit", "no-such-unit"],
        {},
        USAGE,
        "unknown unit 'no-such-unit'",
    ),
    (
        ["alerts", "plan", "{valid}", "--from", "x", "--to", "2022-04-15"],
        {},
        USAGE,
        "argument --from: 'x' is not a time",
    ),
    # Dates, periods and numbers.
    (["snapshot", "--period", "13/2022"], {}, USAGE, "month 13 does not exist"),
    (["snapshot", "--period", "2022-04", "--months", "0"], {}, USAGE, "--months"),
    (["report", "--period", "2022-04", "--out", "r", "--version", "x"], {}, USAGE, "'x'"),
    (
        ["digest", "--date", "31/02/2022", "--unit", "so-tu-phap"],
        {},
        USAGE,
        "day is out of range for month",
    ),
    (["digest", "--date", "2022/04/14", "--unit", "so-tu-phap"], {}, USAGE, "dd/mm/yyyy"),
    (
        ["alerts", "plan", "{valid}", "--from", "14/04/2022", "--to", "01/04/2022"],
        {},
        USAGE,
        "must be after --from",
    ),
    (["serve", "--period", "2022-4"], {}, USAGE, "is not a period"),
    (["replay", "{valid}", "--period", "April"], {}, USAGE, "is not a period"),
    # Commands and options that do not exist.
    (["frobnicate"], {}, USAGE, "invalid choice: 'frobnicate'"),
    (["snapshot", "--period", "2022-04", "--colour"], {}, USAGE, "unrecognized arguments"),
    (["snapshot"], {}, USAGE, "required: --period"),
    (["simulate", "nowhere-1999", "--out", "x.jsonl"], {}, USAGE, "unknown scenario"),
    (["dlq", "show", "first"], {}, USAGE, "is not a dead letter"),
    (["dlq", "resend"], {}, USAGE, "or give --all"),
    (["publish", "{valid}", "--wait", "--timeout", "0"], {}, USAGE, "--timeout"),
    # Files.
    (["publish", "missing.jsonl"], {}, USAGE, "cannot read missing.jsonl"),
    (
        ["alerts", "plan", "missing.jsonl", "--from", "1/4/2022", "--to", "2/4/2022"],
        {},
        USAGE,
        "cannot read missing.jsonl",
    ),
    (["publish", "{valid}", "--units", "no-units.csv"], {}, USAGE, "no-units.csv"),
    # Settings and services.
    (["publish", "{valid}", "--cut-day", "40"], {}, USAGE, "TTHC_PERIOD_CUT_DAY"),
    (["snapshot", "--period", "2022-04"], {}, USAGE, "TTHC_REDIS_URL is not set"),
    (["publish", "{valid}"], {}, USAGE, "TTHC_KAFKA_BOOTSTRAP is not set"),
    (
        ["snapshot", "--period", "04/2022"],
        {"TTHC_REDIS_URL": f"redis://:secret@{NOWHERE}/0"},
        UNAVAILABLE,
        f"cannot reach Redis at redis://:***@{NOWHERE}/0",
    ),
    (
        ["digest", "--date", "14/04/2022", "--unit", "so-tu-phap"],
        {"TTHC_REDIS_URL": f"redis://{NOWHERE}/0"},
        UNAVAILABLE,
        "cannot reach Redis",
    ),
]


def invoke(
    argv: list[str],
    extra: dict[str, str],
    tmp: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> tuple[int, str, str]:
    """``main(argv)`` in this process (a subprocess per case would take minutes on a busy
    machine): exit code, stdout, stderr. An exception escaping it fails the test."""
    for name in [n for n in os.environ if n.startswith("TTHC_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("TTHC_UP_FILE", str(tmp / "no-up.json"))
    for name, value in extra.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp)
    try:
        code = main(argv)
    except SystemExit as stop:  # argparse's own exit, after its one line
        code = stop.code if isinstance(stop.code, int) else -1
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(
    ("args", "extra", "code", "phrase"), BAD, ids=[" ".join(case[0]) for case in BAD]
)
def test_bad_invocation_is_one_line_and_an_exit_code(
    files: dict[str, Path],
    args: list[str],
    extra: dict[str, str],
    code: int,
    phrase: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = [a.format(valid=files["valid"]) for a in args]
    status, out, err = invoke(argv, extra, files["dir"], monkeypatch, capsys)
    assert status == code, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert phrase in lines[0], lines[0]
    assert lines[0].startswith("tthc-monitor"), lines[0]
    assert "secret" not in err + out
    assert out == ""


def test_a_bad_invocation_in_its_own_process(files: dict[str, Path]) -> None:
    """The same through the real entry point, as an operator's shell runs it."""
    result = run("snapshot", "--period", "2022-4", tmp=files["dir"])
    assert result.returncode == USAGE
    assert result.stderr == (
        "tthc-monitor snapshot: argument --period: '2022-4' is not a period: write YYYY-MM "
        "(2022-04) or MM/YYYY (04/2022) (see tthc-monitor snapshot --help)\n"
    )
    assert result.stdout == ""


def test_status_with_both_services_unreachable(files: dict[str, Path]) -> None:
    result = run(
        "status",
        tmp=files["dir"],
        TTHC_KAFKA_BOOTSTRAP=NOWHERE,
        TTHC_REDIS_URL=f"redis://:secret@{NOWHERE}/0",
    )
    assert result.returncode == UNAVAILABLE, result.stderr
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert f"cannot reach Kafka at {NOWHERE}" in line
    assert f"cannot reach Redis at redis://:***@{NOWHERE}/0" in line
    # The operator's text still says what it could and could not use, in Vietnamese.
    assert f"Kafka ({NOWHERE}): KHÔNG dùng được" in result.stdout
    assert "secret" not in result.stdout + result.stderr
    document = json.loads(
        run(
            "status",
            "--json",
            tmp=files["dir"],
            TTHC_KAFKA_BOOTSTRAP=NOWHERE,
            TTHC_REDIS_URL=f"redis://{NOWHERE}/0",
        ).stdout
    )
    assert document["ok"] is False
    assert document["kafka"]["reachable"] is False and document["redis"]["reachable"] is False


@pytest.mark.parametrize("command", [["publish"], ["alerts", "plan"]])
def test_invalid_lines_are_refused_alike(files: dict[str, Path], command: list[str]) -> None:
    """``publish`` and ``alerts plan`` refuse a file with an invalid line the same way: the
    line named FILE:LINE with its reason, then one summary line, exit 2, nothing done."""
    window = ["--from", "15/03/2022", "--to", "15/04/2022"] if command[0] == "alerts" else []
    result = run(*command, str(files["mixed"]), *window, tmp=files["dir"])
    assert result.returncode == USAGE, result.stderr
    assert "Traceback" not in result.stderr
    named, summary = result.stderr.strip().splitlines()
    assert named.startswith(f"{files['mixed']}:3: event '")
    assert "field 'channel'" in named
    assert summary.startswith(f"tthc-monitor: 1 invalid line(s) in {files['mixed']}: nothing ")
    assert "--skip-invalid" in summary
    assert result.stdout == ""


def test_alerts_plan_skips_invalid_lines_when_asked(files: dict[str, Path]) -> None:
    window = ["--from", "15/03/2022", "--to", "15/04/2022"]
    skipped = run(
        "alerts", "plan", str(files["mixed"]), *window, "--skip-invalid", tmp=files["dir"]
    )
    assert skipped.returncode == 0, skipped.stderr
    assert "(1 invalid lines skipped)" in skipped.stderr
    assert isinstance(json.loads(skipped.stdout), list)


def test_stdin_is_read_with_dash(files: dict[str, Path]) -> None:
    """``-`` reads standard input; its lines are named ``<stdin>:N``."""
    bad = files["mixed"].read_bytes()
    result = run("publish", "-", tmp=files["dir"], stdin=bad)
    assert result.returncode == USAGE
    assert result.stderr.startswith("<stdin>:3: event '")
    window = ["--from", "15/03/2022", "--to", "15/04/2022"]
    from_file = run("alerts", "plan", str(files["valid"]), *window, tmp=files["dir"])
    from_stdin = run(
        "alerts", "plan", "-", *window, tmp=files["dir"], stdin=files["valid"].read_bytes()
    )
    assert from_stdin.returncode == 0, from_stdin.stderr
    assert from_stdin.stdout == from_file.stdout
    assert json.loads(from_stdin.stdout), "the scenario warrants alerts in the window"


def test_vietnamese_and_iso_dates_mean_the_same(files: dict[str, Path]) -> None:
    iso = run(
        "alerts",
        "plan",
        str(files["valid"]),
        "--from",
        "2022-03-15T00:00:00+07:00",
        "--to",
        "2022-04-15",
        tmp=files["dir"],
    )
    vietnamese = run(
        "alerts",
        "plan",
        str(files["valid"]),
        "--from",
        "15/03/2022 00:00",
        "--to",
        "15/04/2022",
        tmp=files["dir"],
    )
    assert iso.returncode == vietnamese.returncode == 0, iso.stderr + vietnamese.stderr
    assert iso.stdout == vietnamese.stdout


def test_version(files: dict[str, Path]) -> None:
    from importlib.metadata import version

    result = run("--version", tmp=files["dir"])
    assert result.returncode == 0
    assert result.stdout.strip() == f"tthc-monitor {version('tthc-monitor')}"
