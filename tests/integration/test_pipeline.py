"""The streaming core end to end: Kafka -> Faust worker -> Redis -> snapshot."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer, TopicPartition

from tests.integration import scenario
from tests.integration.conftest import ROOT, Env, produce
from tthc_monitor.core.periods import PeriodScheme
from tthc_monitor.core.snapshot import SNAPSHOT_FIELDS
from tthc_monitor.kafka_admin import end_offsets
from tthc_monitor.reference.registry import Registry

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

PERIODS = ("2022-03", "2022-04", "2022-05")


def wait_applied(env: Env, timeout: float = 180) -> None:
    """Until the worker's recorded progress reaches the end of every partition."""
    targets = {p: end for p, end in end_offsets(env.services.kafka, env.topic).items() if end}
    client = env.redis()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        progress = client.hgetall(f"{env.namespace}:progress")
        if all(int(progress.get(f"{env.topic}:{p}", 0)) >= end for p, end in targets.items()):
            return
        env.check_workers()
        time.sleep(0.2)
    raise AssertionError(f"not applied in {timeout} s: {progress} vs {targets}\n{env.tail()}")


def fetch_originals(env: Env, letters: list[dict[str, Any]]) -> list[bytes]:
    """What an operator does with a reference dead letter: read the source offset."""
    consumer = KafkaConsumer(bootstrap_servers=env.services.kafka, enable_auto_commit=False)
    originals: list[bytes] = []
    try:
        for letter in letters:
            tp = TopicPartition(letter["topic"], letter["partition"])
            consumer.assign([tp])
            consumer.seek(tp, letter["offset"])
            records = consumer.poll(timeout_ms=10000, max_records=1).get(tp, [])
            originals.append(records[0].value)
            assert hashlib.sha256(records[0].value).hexdigest() == letter["sha256"]
    finally:
        consumer.close()
    return originals


def snapshot(env: Env, period: str, tmp_path: Path) -> dict[str, Any]:
    out = tmp_path / f"snapshot-{period}-{time.monotonic_ns()}.json"
    env.cli("snapshot", "--period", period, "--json", str(out))
    document: dict[str, Any] = json.loads(out.read_text())
    return document


def expected_entry(registry: Registry, unit_id: str, figures: dict[str, Any]) -> dict[str, Any]:
    procedures = [p for m in registry.subtree(unit_id) for p in registry.procedures_of(m)]
    entry: dict[str, Any] = {name: figures.get(name, 0) for name in SNAPSHOT_FIELDS}
    entry["digitization"] = figures.get("digitization", dict(scenario.ZERO_DIG))
    fees = {"dossiers": 0, "paid_national_portal": 0, "recorded_one_stop": 0}
    fees.update(figures.get("fees", {}))
    fees["procedures"] = sum(p.has_fee for p in procedures)
    fees["online_payment_procedures"] = sum(p.has_fee and p.online_payment for p in procedures)
    entry["fees"] = fees
    entry["land"] = figures.get("land", dict(scenario.ZERO_LAND))
    return entry


def check(document: dict[str, Any], period: str, registry: Registry, extra: dict[str, Any]) -> None:
    expected = dict(scenario.expected()[period])
    expected.update(extra.get(period, {}))
    for parent_child in scenario.PARENTS.items():
        child, parent = parent_child
        if child in expected:
            expected[parent] = expected[child]  # the only active unit of its subtree
    by_unit = {u["unit_id"]: u for u in document["units"]}
    scheme = PeriodScheme(15)
    days = (scheme.start(period).date(), scheme.end(period).date())
    listed = [u for u in registry.units if registry.in_force_during(u, *days)]
    assert list(by_unit) == listed, "one entry per unit in force in the period, in order"
    for unit_id, unit in by_unit.items():
        got = {k: v for k, v in unit.items() if k not in ("unit_id", "name", "parent_id")}
        want = expected_entry(registry, unit_id, expected.get(unit_id, {}))
        assert got == want, f"{period} {unit_id}"
    assert document["period"] == period


def test_worker_counts_hand_worked_scenario(env: Env, tmp_path: Path, registry: Registry) -> None:
    lines = scenario.stream()
    env.start_worker(tmp_path)
    produce(env, lines)
    wait_applied(env)
    stats = env.stats()
    valid = len(scenario.events())
    assert stats["applied"] == valid
    assert stats["duplicates"] == 12
    assert stats["dead_letters"] == 3
    documents = {p: snapshot(env, p, tmp_path) for p in PERIODS}
    for period, document in documents.items():
        check(document, period, registry, {})

    # Dead letters (default TTHC_DLQ_PAYLOAD=reference) say why, naming the field, and
    # where the original is (topic, partition, offset, sha256), without a copy of it.
    consumer = KafkaConsumer(
        env.dlq,
        bootstrap_servers=env.services.kafka,
        auto_offset_reset="earliest",
        consumer_timeout_ms=5000,
    )
    messages = list(consumer)
    consumer.close()
    letters = [json.loads(m.value) for m in messages]
    assert sorted(letter["field"] or "" for letter in letters) == ["", "citizen_name", "unit_id"]
    assert all(letter["reason"] for letter in letters)
    # "bad-json" is not JSON: no event id can be read from it.
    assert {letter["event_id"] for letter in letters} == {None, "bad-field", "bad-unit"}
    by_hash = {hashlib.sha256(line).hexdigest(): line for line in scenario.invalid_lines()}
    assert {letter["sha256"] for letter in letters} == set(by_hash)
    originals = fetch_originals(env, letters)
    assert all(originals[i] == by_hash[letter["sha256"]] for i, letter in enumerate(letters))
    for message in messages:
        assert message.key is None
        assert "Nguyễn".encode() not in message.value
        assert dict(message.headers)["tthc-payload"] == b"reference"

    # Nothing of the personal-data field reached Redis or the worker's log.
    client = env.redis()
    for key in client.scan_iter(f"{env.namespace}:*"):
        dump = client.dump(key) or b""
        assert "Nguyễn".encode() not in dump and b"citizen" not in dump
    assert "Nguyễn" not in env.tail()

    # replay: the same file through the same core and store, without Kafka.
    source = tmp_path / "stream.jsonl"
    source.write_bytes(b"\n".join(lines) + b"\n")
    for period in PERIODS:
        out = tmp_path / f"replay-{period}.json"
        replay_env = env.vars() | {"TTHC_NAMESPACE": f"{env.namespace}r{period}"}
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "tthc_monitor.cli.main",
                "replay",
                str(source),
                "--skip-invalid",
                "--period",
                period,
                "--json",
                str(out),
            ],
            env=replay_env,
            capture_output=True,
            text=True,
            timeout=300,
            cwd=ROOT,
            check=True,
        )
        assert "3 invalid lines skipped" in result.stderr
        replayed = json.loads(out.read_text())
        kafka_side = dict(documents[period])
        assert {**replayed, "as_of": None} == {**kafka_side, "as_of": None}
        client.delete(*client.keys(f"{env.namespace}r{period}:*"))


def test_replay_without_redis_starts_an_embedded_one(tmp_path: Path, registry: Registry) -> None:
    source = tmp_path / "stream.jsonl"
    source.write_bytes(b"\n".join(scenario.stream(seed=11)) + b"\n")
    out = tmp_path / "replay.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TTHC_")}
    env["PYTHONPATH"] = str(ROOT)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "tthc_monitor.cli.main",
            "replay",
            str(source),
            "--skip-invalid",
            "--period",
            "2022-04",
            "--json",
            str(out),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        check=True,
    )
    check(json.loads(out.read_text()), "2022-04", registry, {})


def test_publish_validates_and_refuses_invalid_files(env: Env, tmp_path: Path) -> None:
    source = tmp_path / "mixed.jsonl"
    good = [json.dumps(e, ensure_ascii=False) for e in scenario.events()[:5]]
    bad = json.dumps(scenario.events()[5] | {"channel": "fax"})
    source.write_text("\n".join([*good[:2], bad, *good[2:]]) + "\n", encoding="utf-8")
    refused = env.cli("publish", str(source), check=False)
    assert refused.returncode == 2
    assert re.search(r"mixed\.jsonl:3: event '.+': field 'channel'", refused.stderr)
    assert sum(end_offsets(env.services.kafka, env.topic).values()) == 0

    env.start_worker(tmp_path)
    done = env.cli("publish", str(source), "--skip-invalid", "--wait", "--timeout", "120")
    assert "published 5 events" in done.stderr
    assert "applied everything" in done.stderr
    assert env.stats()["applied"] == 5


def test_replay_refuses_invalid_lines_unless_skip_invalid(env: Env, tmp_path: Path) -> None:
    """As `publish`: each invalid line named (file:line, reason), one refusal line, exit
    2, nothing applied; with --skip-invalid the rest is applied and the skipped counted."""
    good = [json.dumps(e, ensure_ascii=False).encode() for e in scenario.events()[:20]]
    bad = json.loads(good[0])
    bad.update(event_id="bad-1", citizen_name="Nguyễn Văn A")
    source = tmp_path / "mixed.jsonl"
    source.write_bytes(b"\n".join([*good[:5], json.dumps(bad).encode(), *good[5:]]) + b"\n")

    refused = env.cli("replay", str(source), check=False)
    assert refused.returncode == 2, refused.stderr
    lines = refused.stderr.strip().splitlines()
    assert lines[0].startswith(f"{source}:6: event 'bad-1': ") and "citizen_name" in lines[0]
    assert lines[1] == (
        f"tthc-monitor: 1 invalid line(s) in {source}: nothing replayed "
        "(use --skip-invalid to go on with the 20 valid ones)"
    )
    assert len(lines) == 2 and "Traceback" not in refused.stderr
    assert "Nguyễn" not in refused.stderr
    assert not list(env.redis().scan_iter(f"{env.namespace}:*"))

    letters = tmp_path / "dead-letters.jsonl"
    skipped = env.cli("replay", str(source), "--skip-invalid", "--dead-letters", str(letters))
    assert f"dead letter at {source}:6: event 'bad-1': " in skipped.stderr
    assert "20 applied" in skipped.stderr and "1 invalid lines skipped" in skipped.stderr
    assert "Nguyễn" not in skipped.stderr + letters.read_text()
    (letter,) = [json.loads(line) for line in letters.read_text().splitlines()]
    assert (letter["source"], letter["offset"], letter["event_id"]) == (str(source), 6, "bad-1")
    stats = env.stats()
    assert (stats["applied"], stats["invalid_lines"]) == (20, 1)


def test_replay_survives_a_processing_error_as_the_worker_does(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The rules failing on one dossier: its events are dead letters (named on stderr,
    counted), every other dossier is applied, exit 0. The failure is planted in the
    rules (plan_update) for one dossier; Redis is real."""
    from tthc_monitor.cli import main as cli_main
    from tthc_monitor.store import redis_store

    events = scenario.events()
    victim = events[0]["dossier_id"]
    victims = [n for n, e in enumerate(events, start=1) if e["dossier_id"] == victim]
    source = tmp_path / "events.jsonl"
    source.write_bytes(b"\n".join(json.dumps(e).encode() for e in events) + b"\n")
    real = redis_store.plan_update

    def failing(engine: Any, dossier_id: str, *args: Any, **kwargs: Any) -> Any:
        if dossier_id == victim:
            raise ArithmeticError("a rule failed")
        return real(engine, dossier_id, *args, **kwargs)

    monkeypatch.setattr(redis_store, "plan_update", failing)
    for name, value in env.vars().items():
        if name.startswith("TTHC_"):
            monkeypatch.setenv(name, value)
    letters = tmp_path / "dead-letters.jsonl"
    status = cli_main.main(["replay", str(source), "--dead-letters", str(letters)])
    errors = capsys.readouterr().err
    assert status == 0, errors
    named = [line for line in errors.splitlines() if line.startswith("dead letter at")]
    assert named == [
        f"dead letter at {source}:{n}: event '{events[n - 1]['event_id']}': "
        "processing error: ArithmeticError"
        for n in victims
    ]
    assert f"{len(victims)} events the rules failed on (dead letters)" in errors
    written = [json.loads(line) for line in letters.read_text().splitlines()]
    assert [w["offset"] for w in written] == victims
    stats = env.stats()
    assert stats["applied"] == len(events) - len(victims)
    assert stats["dead_letters"] == len(victims)
