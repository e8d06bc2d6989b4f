"""Change data capture end to end, on real programs only:

PostgreSQL (Debian) ← the generator plays the April 2022 scenario as an application
would → Debezium on Kafka Connect (pgoutput) → Apache Kafka → the translator (Faust) →
the worker (Faust) → Redis → ``snapshot``, which must equal ``replay`` of the contract
events the generator played, figure for figure. On the way: the translator is SIGKILLed
and restarted mid-stream, Kafka Connect is stopped and started again, and the connector's
offsets are deleted so that it snapshots the whole database again (every row, as after a
lost offset); nothing may count twice.

The services come from scripts/cdc.sh (the broker and Redis from scripts/services.sh, as
for every integration test). A missing program fails the test, naming its package.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from kafka import KafkaConsumer

from tests.integration.conftest import ROOT, Env, Services
from tests.programs import require
from tthc_monitor.cdc import generator
from tthc_monitor.embedded import free_port

SCRIPT = ROOT / "scripts" / "cdc.sh"
MAPPING = ROOT / "examples" / "one-stop" / "mapping.toml"
DOSSIERS = int(os.environ.get("TTHC_CDC_TEST_DOSSIERS", "300"))
"""How many dossiers' whole histories the test plays (every STRIDE-th of the month):
small for CI time; TTHC_CDC_TEST_DOSSIERS=100000 plays the whole month."""
STRIDE = int(os.environ.get("TTHC_CDC_TEST_STRIDE", "200"))
PERIODS = ("2022-03", "2022-04", "2022-05")
WAIT = 600 if DOSSIERS <= 1000 else 3600
"""Seconds to wait for the capture to be counted (the whole month takes longer)."""

pytestmark = [pytest.mark.integration, pytest.mark.timeout(WAIT * 3)]


@dataclass
class Capture:
    vars: dict[str, str]
    dsn: str
    connect_url: str

    def rest(self, method: str, path: str) -> dict[str, Any]:
        request = urllib.request.Request(self.connect_url + path, method=method)
        with urllib.request.urlopen(request, timeout=60) as response:
            body = response.read()
        return json.loads(body) if body else {}

    def resnapshot(self, connector: str) -> None:
        """What an operator does after losing the connector's offsets: stop it, delete
        its offsets (Kafka Connect's REST API), resume it; with no offset, Debezium
        snapshots every captured row again."""
        self.rest("PUT", f"/connectors/{connector}/stop")
        deadline = time.monotonic() + 120
        while self.rest("GET", f"/connectors/{connector}/status")["connector"]["state"] != (
            "STOPPED"
        ):
            assert time.monotonic() < deadline, "connector did not stop"
            time.sleep(1)
        self.rest("DELETE", f"/connectors/{connector}/offsets")
        self.rest("PUT", f"/connectors/{connector}/resume")

    def script(self, *args: str, extra: dict[str, str] | None = None) -> str:
        result = subprocess.run(
            ["bash", str(SCRIPT), *args],
            env={**self.vars, **(extra or {})},
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        if result.returncode != 0:
            raise AssertionError(f"cdc.sh {' '.join(args)}: {result.stderr[-3000:]}")
        return result.stdout

    def database(self, name: str) -> str:
        return self.dsn.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="module")
def capture(services: Services) -> Iterator[Capture]:
    require("java", "openjdk-17-jre-headless")
    require("mvn", "maven")
    require("curl", "curl")
    if not glob.glob("/usr/lib/postgresql/*/bin/initdb") and not os.environ.get("TTHC_PG_BIN"):
        pytest.fail("PostgreSQL is not installed: apt-get install postgresql", pytrace=False)
    host, port = services.kafka.rsplit(":", 1)
    assert host in ("127.0.0.1", "localhost"), "cdc.sh runs Kafka Connect beside a local broker"
    variables = {
        **os.environ,
        # Under /tmp itself: pytest's own temporary root is closed to other users, and
        # PostgreSQL runs as the postgres user when the tests run as root.
        "TTHC_RUN_DIR": tempfile.mkdtemp(prefix="tthc-cdc-"),
        "TTHC_KAFKA_PORT": port,
        "TTHC_PG_PORT": os.environ.get("TTHC_PG_PORT") or str(free_port()),
        "TTHC_CONNECT_PORT": os.environ.get("TTHC_CONNECT_PORT") or str(free_port()),
        "TTHC_CDC_REGISTER": "0",
        "PYTHON": sys.executable,
    }
    # A run dir under /tmp that the postgres user (when run as root) can enter.
    os.chmod(variables["TTHC_RUN_DIR"], 0o755)
    started = time.monotonic()
    result = subprocess.run(
        ["bash", str(SCRIPT), "up"],
        env=variables,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"scripts/cdc.sh up failed:\n{result.stderr[-4000:]}", pytrace=False)
    out = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    print(f"cdc.sh up: {time.monotonic() - started:.1f} s", file=sys.stderr)
    try:
        yield Capture(variables, out["TTHC_PG_DSN"], out["TTHC_CONNECT_URL"])
    finally:
        subprocess.run(["bash", str(SCRIPT), "down"], env=variables, timeout=120, check=False)
        shutil.rmtree(variables["TTHC_RUN_DIR"], ignore_errors=True)


def start_translator(env: Env, mapping: Path, log_dir: Path) -> subprocess.Popen[bytes]:
    log = log_dir / f"translator-{len(env.workers)}.log"
    env.logs.append(log)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tthc_monitor.cli.main",
            "cdc",
            "translate",
            "--mapping",
            str(mapping),
        ],
        env=env.vars(),
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    env.workers.append(process)
    return process


def snapshot(env: Env, period: str, tmp_path: Path) -> dict[str, Any]:
    out = tmp_path / f"snapshot-{period}.json"
    env.cli("snapshot", "--period", period, "--json", str(out))
    document: dict[str, Any] = json.loads(out.read_text())
    return document


def dead_letters(env: Env) -> list[dict[str, Any]]:
    consumer = KafkaConsumer(
        env.dlq,
        bootstrap_servers=env.services.kafka,
        auto_offset_reset="earliest",
        consumer_timeout_ms=3000,
    )
    try:
        return [json.loads(m.value) for m in consumer]
    finally:
        consumer.close()


def test_one_stop_database_counts_exactly_as_the_replay(
    env: Env, capture: Capture, tmp_path: Path
) -> None:
    started = time.monotonic()
    month = tmp_path / "month.jsonl"
    env.cli("simulate", "quangtri-2022-04", "--out", str(month))
    simulated = time.monotonic()
    events = generator.subset(generator.read_events(month), DOSSIERS, STRIDE)
    played = tmp_path / "played.jsonl"
    played.write_text(
        "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events), encoding="utf-8"
    )

    # One database, slot, connector and topic prefix for this test.
    database, prefix = f"db_{env.tag}", f"os{env.tag}"
    capture.script("createdb", database)
    connector = {
        "TTHC_CDC_CONNECTOR": f"onestop-{env.tag}",
        "TTHC_CDC_TOPIC_PREFIX": prefix,
        "TTHC_CDC_SLOT": f"slot_{env.tag}",
        "TTHC_CDC_DATABASE": database,
    }
    capture.script("register", extra=connector)
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(
        MAPPING.read_text(encoding="utf-8").replace(
            'topic_prefix = "onestop"', f'topic_prefix = "{prefix}"'
        ),
        encoding="utf-8",
    )
    assert f'"{prefix}"' in mapping.read_text(encoding="utf-8")

    env.start_worker(tmp_path)
    translator = start_translator(env, mapping, tmp_path)
    dsn = capture.database(database)
    playing = time.monotonic()
    half = len(events) // 2
    first = generator.play(dsn, events[:half])
    # The translator dies mid-stream (no clean stop, no commit) and comes back.
    env.wait_stats(lambda s: s.get("applied", 0) > 0, timeout=300)
    translator.send_signal(signal.SIGKILL)
    translator.wait(30)
    start_translator(env, mapping, tmp_path)
    # Kafka Connect stops and starts again mid-month: the connector's configuration and
    # its offset are in Kafka, so it resumes from the slot where it stopped.
    capture.script("down", "connect")
    capture.script("up")
    second = generator.play(dsn, events[half:])
    # One row the mapping cannot read: a channel code outside [codes.channel].
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "INSERT INTO dossier (dossier_code, unit_code, procedure_code, channel_code,"
            " status_code, received_at, created_at) VALUES ('CDC-LOI-0001', %s, %s, '9', '2',"
            " '2022-04-05 08:00', '2022-04-05 08:00')",
            (events[0]["unit_id"], events[0]["procedure_id"]),
        )
    # The application's ways are exercised: several events saved by one UPDATE, and
    # corrections that are no event.
    assert first.multi_event_updates + second.multi_event_updates > 0
    assert first.corrections + second.corrections > 0
    inexpressible = {**first.inexpressible}
    for reason, count in second.inexpressible.items():
        inexpressible[reason] = inexpressible.get(reason, 0) + count
    assert inexpressible == {}, "the sample scenario must be expressible in the sample tables"

    stats = env.wait_stats(lambda s: s.get("applied", 0) >= len(events), timeout=WAIT)
    assert stats["applied"] == len(events)
    captured_at = time.monotonic()

    # A re-snapshot (the connector's offsets lost: every row read again) changes nothing.
    capture.resnapshot(connector["TTHC_CDC_CONNECTOR"])
    rows = sum(1 for e in events if e["type"] == "received")
    env.wait_stats(lambda s: s.get("duplicates", 0) >= rows, timeout=WAIT)
    # The re-snapshot is through when it has read the unmappable row again (its second
    # dead letter) and the counts stay still.
    deadline = time.monotonic() + WAIT
    while len([d for d in dead_letters(env) if d["topic"].startswith(prefix)]) < 2:
        assert time.monotonic() < deadline, f"re-snapshot not through: {env.stats()}"
        env.check_workers()
        time.sleep(2)
    stats, previous = env.stats(), dict[str, int]()
    while stats != previous:
        time.sleep(5)
        stats, previous = env.stats(), stats
    assert stats["applied"] == len(events), stats
    resnapshot_seconds = time.monotonic() - captured_at

    letters = [d for d in dead_letters(env) if d["topic"].startswith(prefix)]
    # One per reading of the row: its insert, and the re-snapshot's read of it.
    assert len(letters) == 2, letters
    for letter in letters:
        assert "[codes.channel]" in letter["reason"]
        assert letter["field"] == "dossier.events[0]:received.channel_code"
        assert "CDC-LOI" not in json.dumps(letter)  # a reference, not the row

    for period in PERIODS:
        assert_same_as_replay(env, played, period, tmp_path)
    print(
        f"cdc end to end: {len(events)} events of {rows} dossiers; simulate "
        f"{simulated - started:.1f} s; generator {first.seconds + second.seconds:.1f} s "
        f"({first.statements + second.statements} statements); from the first row written "
        f"to the last event counted {captured_at - playing:.1f} s; re-snapshot "
        f"{resnapshot_seconds:.1f} s; whole test {time.monotonic() - started:.1f} s",
        file=sys.stderr,
    )


def assert_same_as_replay(env: Env, played: Path, period: str, tmp_path: Path) -> None:
    """The period's snapshot of what was captured equals ``replay`` of the played events."""
    out = tmp_path / f"replay-{period}.json"
    replay_env = env.vars() | {"TTHC_NAMESPACE": f"{env.namespace}r{period}"}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "tthc_monitor.cli.main",
            "replay",
            str(played),
            "--period",
            period,
            "--json",
            str(out),
        ],
        env=replay_env,
        capture_output=True,
        text=True,
        timeout=WAIT,
        cwd=ROOT,
        check=True,
    )
    replayed = json.loads(out.read_text())
    captured = snapshot(env, period, tmp_path)
    assert {**captured, "as_of": None} == {**replayed, "as_of": None}, period
    client = env.redis()
    keys = list(client.scan_iter(f"{env.namespace}r{period}:*"))
    if keys:
        client.delete(*keys)


def test_the_worker_hosts_the_translator(env: Env, capture: Capture, tmp_path: Path) -> None:
    """``worker`` with TTHC_CDC_MAPPING: one process runs both agents on the same
    pipeline steps; a smaller month, its unmappable row one dead letter."""
    month = tmp_path / "month.jsonl"
    env.cli("simulate", "quangtri-2022-04", "--out", str(month))
    events = generator.subset(generator.read_events(month), 40, 2500)
    played = tmp_path / "played.jsonl"
    played.write_text(
        "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events), encoding="utf-8"
    )
    database, prefix = f"db_{env.tag}", f"os{env.tag}"
    capture.script("createdb", database)
    capture.script(
        "register",
        extra={
            "TTHC_CDC_CONNECTOR": f"onestop-{env.tag}",
            "TTHC_CDC_TOPIC_PREFIX": prefix,
            "TTHC_CDC_SLOT": f"slot_{env.tag}",
            "TTHC_CDC_DATABASE": database,
        },
    )
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(
        MAPPING.read_text(encoding="utf-8").replace(
            'topic_prefix = "onestop"', f'topic_prefix = "{prefix}"'
        ),
        encoding="utf-8",
    )
    log = tmp_path / "worker-cdc.log"
    env.logs.append(log)
    env.workers.append(
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tthc_monitor.cli.main",
                "worker",
                "--web-port",
                str(free_port()),
            ],
            env=env.vars() | {"TTHC_CDC_MAPPING": str(mapping)},
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
    )
    dsn = capture.database(database)
    generator.play(dsn, events)
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "INSERT INTO dossier (dossier_code, unit_code, procedure_code, channel_code,"
            " status_code, received_at, created_at) VALUES ('CDC-LOI-0002', %s, %s, '9', '2',"
            " '2022-04-05 08:00', '2022-04-05 08:00')",
            (events[0]["unit_id"], events[0]["procedure_id"]),
        )
    stats = env.wait_stats(lambda s: s.get("applied", 0) >= len(events), timeout=WAIT)
    assert stats["applied"] == len(events), stats
    deadline = time.monotonic() + 120
    while not [d for d in dead_letters(env) if d["topic"].startswith(prefix)]:
        assert time.monotonic() < deadline, "no dead letter for the unmappable row"
        time.sleep(1)
    [letter] = [d for d in dead_letters(env) if d["topic"].startswith(prefix)]
    assert letter["field"] == "dossier.events[0]:received.channel_code"
    assert "CDC-LOI" not in json.dumps(letter)
    assert_same_as_replay(env, played, "2022-04", tmp_path)
    text = log.read_text(errors="replace")
    assert text.count("dead letter at topic") == 1 and "CDC-LOI" not in text
