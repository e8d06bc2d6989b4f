"""``publish -`` from standard input, with ``--wait`` and its progress, on real Kafka,
Redis and a worker."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from tests.integration import scenario
from tests.integration.conftest import ROOT, Env


def test_publish_from_stdin_waits_with_progress(env: Env, tmp_path: Path) -> None:
    events = scenario.events()
    lines = "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events)
    env.start_worker(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "tthc_monitor.cli.main", "publish", "-", "--wait"],
        input=lines,
        env=env.vars() | {"TTHC_PROGRESS": "1"},  # drawn although stderr is a pipe
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr + env.tail()
    assert f"published {len(events)} events from <stdin> to {env.topic}" in result.stderr
    assert "the worker applied everything" in result.stderr
    # The bars end at their totals, in Vietnamese format, with a rate.
    drawn = result.stderr.replace("\r", "\n")
    assert re.search(rf"publish: 100%.*\| {len(events)}/{len(events)} sự kiện \[", drawn)
    # Its total is what the worker had not applied when the wait began (often all).
    assert re.search(r"publish --wait: .*sự kiện/giây\]", drawn), drawn[-2000:]
    assert env.stats()["applied"] == len(events)


def test_publish_is_quiet_without_a_terminal(env: Env, tmp_path: Path) -> None:
    source = tmp_path / "events.jsonl"
    source.write_text("".join(json.dumps(e) + "\n" for e in scenario.events()[:10]))
    result = env.cli("publish", str(source))
    assert result.stderr.splitlines() == [
        f"published 10 events from {source} to {env.topic} in "
        + result.stderr.split(" in ")[-1].strip()
    ]
