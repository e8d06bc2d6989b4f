"""Kafka SASL for real: a private Apache Kafka (KRaft, the jars scripts/services.sh fetched)
whose client listener accepts only SASL (SCRAM-SHA-256, SCRAM-SHA-512, PLAIN), with the
worker (Faust/aiokafka), publish (kafka-python) and the topic chores going through it."""

from __future__ import annotations

import base64
import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaConsumer

from tests.integration import scenario
from tests.integration.conftest import ROOT, Env, Services
from tests.programs import kafka_libs, require
from tthc_monitor.embedded import free_port, wait_for_port

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

USER = "tthc"
PASSWORD = "kafka-Secret-5d1c"
WRONG = "kafka-Wrong-0000"
SCRAM = "org.apache.kafka.common.security.scram.ScramLoginModule required;"
PLAIN = (
    f'org.apache.kafka.common.security.plain.PlainLoginModule required user_{USER}="{PASSWORD}";'
)


@pytest.fixture(scope="module")
def sasl_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    java = require("java", "openjdk-17-jre-headless")
    libs = kafka_libs()
    directory = tmp_path_factory.mktemp("sasl-kafka")
    client, internal, controller = free_port(), free_port(), free_port()
    properties = directory / "server.properties"
    properties.write_text(
        f"""process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{controller}
listeners=CLIENT://127.0.0.1:{client},INTERNAL://127.0.0.1:{internal},CONTROLLER://127.0.0.1:{controller}
advertised.listeners=CLIENT://127.0.0.1:{client},INTERNAL://127.0.0.1:{internal}
controller.listener.names=CONTROLLER
listener.security.protocol.map=CLIENT:SASL_PLAINTEXT,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=INTERNAL
sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512,PLAIN
listener.name.client.scram-sha-256.sasl.jaas.config={SCRAM}
listener.name.client.scram-sha-512.sasl.jaas.config={SCRAM}
listener.name.client.plain.sasl.jaas.config={PLAIN}
log.dirs={directory}/data
num.partitions=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
"""
    )
    jvm = [
        java,
        "-Xmx384m",
        "-Xms64m",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={ROOT / 'scripts' / 'kafka' / 'log4j2.properties'}",
        f"-Dkafka.logs.dir={directory}",
        "-cp",
        f"{libs}/*",
    ]
    cluster = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    # SCRAM credentials live in the KRaft metadata: written when the storage is formatted.
    subprocess.run(
        [*jvm, "kafka.tools.StorageTool", "format", "-t", cluster, "-c", str(properties),
         "--add-scram", f"SCRAM-SHA-256=[name={USER},password={PASSWORD}]",
         "--add-scram", f"SCRAM-SHA-512=[name={USER},password={PASSWORD}]"],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    log = (directory / "stdout.log").open("wb")
    process = subprocess.Popen(
        [*jvm, "kafka.Kafka", str(properties)], stdout=log, stderr=subprocess.STDOUT
    )
    try:
        wait_for_port(client, process, "kafka", 90)
        yield f"127.0.0.1:{client}"
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def sasl(mechanism: str, password: str = PASSWORD) -> dict[str, str]:
    return {
        "TTHC_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "TTHC_KAFKA_SASL_MECHANISM": mechanism,
        "TTHC_KAFKA_SASL_USERNAME": USER,
        "TTHC_KAFKA_SASL_PASSWORD": password,
    }


@pytest.fixture
def sasl_env(services: Services, sasl_kafka: str) -> Iterator[Env]:
    environment = Env(Services(sasl_kafka, services.redis_url))
    try:
        yield environment
    finally:
        environment.stop()


def test_worker_and_publish_over_scram(sasl_env: Env, tmp_path: Path) -> None:
    sasl_env.extra.update(sasl("SCRAM-SHA-512"))
    source = tmp_path / "scenario.jsonl"
    source.write_bytes(b"\n".join(scenario.stream()) + b"\n")
    sasl_env.start_worker(tmp_path)
    sasl_env.cli("publish", str(source), "--skip-invalid", "--wait", "--timeout", "180")
    stats = sasl_env.stats()
    assert stats["applied"] == len(scenario.events())
    # The dead letters went through the worker's SASL producer too (publish validated the
    # file, so feed the invalid lines straight in with a SASL producer).
    from kafka import KafkaProducer

    producer = KafkaProducer(
        bootstrap_servers=sasl_env.services.kafka,
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="SCRAM-SHA-256",
        sasl_plain_username=USER,
        sasl_plain_password=PASSWORD,
    )
    for line in scenario.invalid_lines():
        producer.send(sasl_env.topic, key=b"bad", value=line)
    producer.flush()
    producer.close()
    sasl_env.wait_stats(lambda s: s.get("dead_letters", 0) >= len(scenario.invalid_lines()))
    consumer = KafkaConsumer(
        sasl_env.dlq,
        bootstrap_servers=sasl_env.services.kafka,
        auto_offset_reset="earliest",
        consumer_timeout_ms=5000,
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="PLAIN",
        sasl_plain_username=USER,
        sasl_plain_password=PASSWORD,
    )
    letters = [json.loads(m.value) for m in consumer]
    consumer.close()
    assert len(letters) == len(scenario.invalid_lines())
    assert PASSWORD not in sasl_env.tail()


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "PLAIN"])
def test_publish_with_each_mechanism(sasl_env: Env, tmp_path: Path, mechanism: str) -> None:
    sasl_env.extra.update(sasl(mechanism))
    source = tmp_path / "events.jsonl"
    source.write_bytes(b"\n".join(scenario.stream()[:20]) + b"\n")
    result = sasl_env.cli("publish", str(source), "--skip-invalid")
    assert "published" in result.stderr
    assert PASSWORD not in result.stdout + result.stderr


def test_no_or_wrong_credentials_are_refused(sasl_env: Env, tmp_path: Path) -> None:
    source = tmp_path / "events.jsonl"
    source.write_bytes(b"\n".join(scenario.stream()[:5]) + b"\n")
    sasl_env.extra.update(sasl("SCRAM-SHA-512", WRONG))
    result = sasl_env.cli("publish", str(source), "--skip-invalid", check=False, timeout=180)
    assert result.returncode == 2, result.stderr
    assert WRONG not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "TTHC_KAFKA_SASL_MECHANISM/USERNAME/PASSWORD" in result.stderr
