"""No personal data leaves the events topic: a citizen's name, sent through real Kafka to a
real worker, is found in none of Redis, the logs, the dead-letter topic, /metrics, /api/*
or the exported report files; the good events around it are all counted.

Two ways a name arrives: a field the contract does not define (``citizen_name``: the
event is refused and dead-lettered, by reference) and the free text the contract allows
(``reason`` of ``supplement_requested`` and ``withdrawn``: the event is applied, the text
is dropped before Redis).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import socket
import subprocess
import sys
import time
import unicodedata
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from kafka import KafkaConsumer

from tests.eventkit import raw
from tests.integration import scenario
from tests.integration.conftest import ROOT, Env, produce
from tthc_monitor.embedded import free_port
from tthc_monitor.store.state import decode_state

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

NAME = "Nguyễn Văn An"
S = scenario.S
JUSTICE = scenario.JUSTICE


def forms(name: str) -> list[bytes]:
    """Every way the name could be written down: UTF-8 (NFC and NFD), JSON-escaped,
    without diacritics, and its distinctive parts."""
    nfd = unicodedata.normalize("NFD", name)
    ascii_folded = "".join(c for c in nfd if not unicodedata.combining(c)).replace("đ", "d")
    texts = {name, nfd, json.dumps(name)[1:-1], ascii_folded, "Nguyễn", "Văn An"}
    out = {t.encode("utf-8") for t in texts}
    out |= {t.lower().encode("utf-8") for t in texts}
    return sorted(out)


NEEDLES = forms(NAME)


def assert_clean(where: str, data: bytes | str) -> None:
    blob = data.encode("utf-8") if isinstance(data, str) else data
    found = [n.decode() for n in NEEDLES if n in blob or n in blob.lower()]
    assert not found, f"the citizen's name ({found}) is in {where}"


def personal_events() -> tuple[list[bytes], list[bytes], bytes]:
    """(accepted events carrying the name in `reason`, their good neighbours, the refused one)."""
    with_reason = [
        raw("received", "PD1", "2022-03-22 09:00", S, event_id="pd1-received",
            procedure_id=JUSTICE, channel="online", due_at="2022-04-01 17:00"),
        raw("supplement_requested", "PD1", "2022-03-23 09:00", S, event_id="pd1-supplement",
            reason=f"Công dân {NAME} cần bổ sung bản sao CCCD"),
        raw("supplemented", "PD1", "2022-03-24 09:00", S, event_id="pd1-supplied"),
        raw("received", "PD2", "2022-03-22 10:00", S, event_id="pd2-received",
            procedure_id=JUSTICE, channel="direct", due_at="2022-04-01 17:00"),
        raw("withdrawn", "PD2", "2022-03-25 10:00", S, event_id="pd2-withdrawn",
            reason=f"{NAME} xin rút hồ sơ"),
    ]  # fmt: skip
    refused = raw("received", "PD3", "2022-03-22 11:00", S, event_id="pd3-received",
                  procedure_id=JUSTICE, channel="online", due_at="2022-04-01 17:00",
                  citizen_name=NAME)  # fmt: skip
    encode = [json.dumps(e, ensure_ascii=False).encode("utf-8") for e in with_reason]
    return encode, scenario.stream(), json.dumps(refused, ensure_ascii=False).encode("utf-8")


def redis_contents(env: Env) -> Iterator[tuple[str, str]]:
    """(key, everything stored under it), read according to the key's type."""
    client = env.redis()
    binary = redis.Redis.from_url(env.services.redis_url)
    for key in client.scan_iter(f"{env.namespace}:*", count=1000):
        kind = client.type(key)
        if key.startswith(f"{env.namespace}:d:"):
            # A dossier's state is compressed: look at what it holds, not its bytes.
            value: object = dataclasses.asdict(decode_state(binary.get(key)))
        elif kind == "string":
            value = client.get(key)
        elif kind == "hash":
            value = client.hgetall(key)
        elif kind == "list":
            value = client.lrange(key, 0, -1)
        elif kind == "set":
            value = sorted(client.smembers(key))
        elif kind == "zset":
            value = client.zrange(key, 0, -1, withscores=True)
        elif kind == "stream":
            value = client.xrange(key)
        else:
            raise AssertionError(f"unexpected Redis type {kind} at {key}")
        yield key, f"{key} {value!r} {json.dumps(value, ensure_ascii=False, default=str)}"


def http_get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=15) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def file_contents(path: Path) -> bytes:
    """The bytes of a file, and of every member if it is a zip (xlsx, docx)."""
    data = path.read_bytes()
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            data += b"".join(archive.read(member) for member in archive.namelist())
    return data


def test_a_citizen_name_is_stored_logged_and_exported_nowhere(env: Env, tmp_path: Path) -> None:
    with_reason, good, refused = personal_events()
    env.start_worker(tmp_path)
    produce(env, good + with_reason + [refused])
    scenario_dead = len(scenario.invalid_lines())
    valid = len(scenario.events()) + len(with_reason)
    stats = env.wait_stats(
        lambda s: (
            s.get("applied", 0) + s.get("duplicates", 0) >= valid + 12
            and s.get("dead_letters", 0) >= scenario_dead + 1
        )
    )
    # The good events around it are all counted, the refused one is the only extra letter.
    assert stats["applied"] == valid
    assert stats["dead_letters"] == scenario_dead + 1

    # Redis: every key and value of the namespace.
    keys = 0
    for key, contents in redis_contents(env):
        keys += 1
        assert_clean(f"Redis key {key}", contents)
    assert keys > 50
    # The dossiers whose events carried the name are there, counted.
    assert env.redis().exists(f"{env.namespace}:d:PD1", f"{env.namespace}:d:PD2") == 2

    # The dead-letter topic (default TTHC_DLQ_PAYLOAD=reference): reason and reference only.
    consumer = KafkaConsumer(
        env.dlq,
        bootstrap_servers=env.services.kafka,
        auto_offset_reset="earliest",
        consumer_timeout_ms=5000,
    )
    letters = list(consumer)
    consumer.close()
    assert len(letters) == scenario_dead + 1
    for letter in letters:
        assert_clean("the dead-letter topic", letter.value)
        assert_clean("a dead letter's key", letter.key or b"")
        for header, value in letter.headers:
            assert_clean(f"dead-letter header {header}", value)
    decoded = [json.loads(m.value) for m in letters]
    ours = [letter for letter in decoded if letter["event_id"] == "pd3-received"]
    assert len(ours) == 1 and ours[0]["field"] == "citizen_name"
    assert ours[0]["sha256"] == hashlib.sha256(refused).hexdigest()

    # serve: /metrics and every /api route, and its log.
    port = free_port()
    serve_log = tmp_path / "serve.log"
    serve = subprocess.Popen(
        [sys.executable, "-m", "tthc_monitor.cli.main", "serve", "--port", str(port),
         "--period", "2022-04"],
        env=env.vars(), cwd=ROOT, stdout=serve_log.open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), 0.5):
                    break
            except OSError:
                time.sleep(0.1)
        base = f"http://127.0.0.1:{port}"
        for path in (
            "/metrics",
            "/api/summary",
            "/api/summary?period=2022-03",
            f"/api/units/{S}/due",
            "/api/snapshots?period=2022-04",
            "/",
        ):
            status, body = http_get(base + path)
            assert status == 200, (path, body[:300])
            assert_clean(path, body)
    finally:
        serve.terminate()
        serve.wait(10)

    # The exported files: snapshot JSON, frozen versions, the report (xlsx, docx, csv, md).
    out = tmp_path / "export"
    env.cli("snapshot", "--period", "2022-04", "--json", str(out / "snapshot-2022-04.json"))
    env.cli("snapshot", "--period", "2022-04", "--freeze")
    env.cli("snapshot", "--period", "2022-03", "--months", "3", "--freeze")
    env.cli("report", "--period", "2022-04", "--out", str(out / "report"))
    files = [p for p in out.rglob("*") if p.is_file()]
    assert any(p.suffix == ".xlsx" for p in files) and any(p.suffix == ".docx" for p in files)
    for path in files:
        assert_clean(f"exported file {path.name}", file_contents(path))

    # The logs: the worker's (stdout and stderr) and serve's.
    env.stop()
    for log in [*env.logs, serve_log]:
        text = log.read_text(errors="replace")
        assert text, f"{log} is empty"
        assert_clean(f"log {log.name}", text)
    # The refusal is logged, by event id.
    assert any("pd3-received" in log.read_text(errors="replace") for log in env.logs)


def test_dlq_copy_mode_keeps_the_bytes_for_sites_that_accept_it(env: Env, tmp_path: Path) -> None:
    """TTHC_DLQ_PAYLOAD=copy: the old behaviour, the original message in the letter."""
    _, _, refused = personal_events()
    env.extra["TTHC_DLQ_PAYLOAD"] = "copy"
    env.start_worker(tmp_path)
    produce(env, [refused])
    env.wait_stats(lambda s: s.get("dead_letters", 0) >= 1)
    consumer = KafkaConsumer(
        env.dlq,
        bootstrap_servers=env.services.kafka,
        auto_offset_reset="earliest",
        consumer_timeout_ms=5000,
    )
    (letter,) = list(consumer)
    consumer.close()
    assert letter.value == refused and letter.key == b"PD3"
    headers = dict(letter.headers)
    assert headers["tthc-payload"] == b"copy" and headers["tthc-field"] == b"citizen_name"
    assert headers["tthc-sha256"] == hashlib.sha256(refused).hexdigest().encode()
