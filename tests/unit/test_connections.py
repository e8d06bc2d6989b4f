"""Credentials and TLS settings: what each client gets, and that no secret is shown."""

from __future__ import annotations

import inspect
import ssl
from pathlib import Path
from typing import Any
from urllib.parse import quote

import faust
import pytest
import redis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from pydantic import ValidationError

from tthc_monitor.config import Settings
from tthc_monitor.connections import (
    faust_credentials,
    kafka_python_config,
    mask_url,
    redis_client,
    redis_sync_client,
)

SECRET = "p@ss:w/rd%20#?"
KAFKA_SECRET = "kafka-Secret-9"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("TTHC_"):
            monkeypatch.delenv(name)


def settings(**values: Any) -> Settings:
    return Settings(**values)


def test_redis_credentials_are_folded_into_the_url() -> None:
    s = settings(redis_url="redis://10.0.0.5:6379/2", redis_username="app", redis_password=SECRET)
    assert s.redis_url == f"redis://app:{quote(SECRET, safe='')}@10.0.0.5:6379/2"
    kwargs = redis.connection.parse_url(s.require_redis())
    assert (kwargs["username"], kwargs["password"], kwargs["db"]) == ("app", SECRET, 2)
    # Settings made from the folded URL again (a child process) keep the same URL.
    again = settings(redis_url=s.redis_url, redis_username="app", redis_password=SECRET)
    assert again.redis_url == s.redis_url


def test_password_only_and_password_in_url() -> None:
    s = settings(redis_url="redis://h:1/0", redis_password="pw")
    assert redis.connection.parse_url(s.require_redis())["password"] == "pw"
    assert "username" not in redis.connection.parse_url(s.require_redis())
    inline = settings(redis_url="redis://u:inline@h:1/0")
    assert inline.redis_url == "redis://u:inline@h:1/0"
    # The setting wins over the URL's.
    both = settings(redis_url="redis://u:inline@h:1/0", redis_password="setting")
    assert redis.connection.parse_url(both.require_redis())["password"] == "setting"


def test_redis_tls_settings(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    s = settings(
        redis_url="redis://h:6380/0",
        redis_tls=True,
        redis_tls_ca_file=ca,
        redis_tls_cert_file=tmp_path / "c.pem",
        redis_tls_key_file=tmp_path / "k.pem",
        redis_tls_check_hostname=False,
    )
    assert s.require_redis().startswith("rediss://h:6380/0?")
    kwargs = redis.connection.parse_url(s.require_redis())
    assert kwargs["connection_class"] is redis.connection.SSLConnection
    assert kwargs["ssl_ca_certs"] == str(ca)
    assert kwargs["ssl_certfile"] == str(tmp_path / "c.pem")
    assert kwargs["ssl_check_hostname"] is False
    # rediss:// alone is TLS too, with the system CAs.
    assert settings(redis_url="rediss://h:6380/0").require_redis() == "rediss://h:6380/0"


def test_clients_get_the_credentials() -> None:
    s = settings(redis_url="redis://h:1/0", redis_username="app", redis_password=SECRET)
    sync = redis_sync_client(s)
    assert sync.connection_pool.connection_kwargs["password"] == SECRET
    assert sync.connection_pool.connection_kwargs["username"] == "app"
    asynchronous = redis_client(s)
    assert asynchronous.connection_pool.connection_kwargs["password"] == SECRET
    # An explicit URL (an embedded Redis) is used as is.
    other = redis_client(s, "redis://127.0.0.1:9/0")
    assert other.connection_pool.connection_kwargs.get("password") is None


def test_no_secret_in_repr_str_or_errors() -> None:
    s = settings(
        redis_url="redis://h:1/0",
        redis_password=SECRET,
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_username="tthc",
        kafka_sasl_password=KAFKA_SECRET,
        admin_token="admin-token-123",
    )
    shown = repr(s) + str(s)
    for secret in (SECRET, quote(SECRET, safe=""), KAFKA_SECRET, "admin-token-123"):
        assert secret not in shown
    assert "redis://:***@h:1/0" in shown
    with pytest.raises(ValidationError) as error:
        settings(kafka_sasl_username="tthc", kafka_sasl_password=KAFKA_SECRET)
    assert KAFKA_SECRET not in str(error.value)
    assert "SASL_SSL" in str(error.value)


def test_mask_url() -> None:
    assert mask_url("redis://u:pw@h:1/0") == "redis://u:***@h:1/0"
    assert mask_url("rediss://:pw@h:1/0?ssl_ca_certs=x") == "rediss://:***@h:1/0?ssl_ca_certs=x"
    assert mask_url("redis://h:1/0") == "redis://h:1/0"
    assert mask_url(None) == "None"


@pytest.mark.parametrize(
    ("values", "says"),
    [
        ({"kafka_security_protocol": "SASL_SSL"}, "needs TTHC_KAFKA_SASL_USERNAME"),
        ({"kafka_security_protocol": "SASL_PLAINTEXT", "kafka_sasl_username": "u"}, "PASSWORD"),
        ({"kafka_sasl_username": "u", "kafka_sasl_password": "p"}, "SECURITY_PROTOCOL=PLAINTEXT"),
        ({"kafka_tls_ca_file": "/ca.pem"}, "use SSL or SASL_SSL"),
        ({"kafka_sasl_mechanism": "GSSAPI"}, "kafka_sasl_mechanism"),
        ({"dlq_payload": "everything"}, "dlq_payload"),
    ],
)
def test_inconsistent_kafka_settings_are_refused(values: dict[str, Any], says: str) -> None:
    with pytest.raises(ValidationError) as error:
        settings(**values)
    assert says in str(error.value)


def test_plaintext_kafka_by_default() -> None:
    s = settings()
    assert kafka_python_config(s) == {"security_protocol": "PLAINTEXT"}
    assert faust_credentials(s) is None
    assert s.dlq_payload == "reference"


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"])
def test_sasl_plaintext_for_every_client(mechanism: str) -> None:
    s = settings(
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_mechanism=mechanism,
        kafka_sasl_username="tthc",
        kafka_sasl_password=KAFKA_SECRET,
    )
    config = kafka_python_config(s)
    assert config == {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": mechanism,
        "sasl_plain_username": "tthc",
        "sasl_plain_password": KAFKA_SECRET,
    }
    # Names the kafka-python clients know (they connect when built: not done here).
    for client in (KafkaProducer, KafkaConsumer, KafkaAdminClient):
        assert set(config) <= set(client.DEFAULT_CONFIG), client
    credentials = faust_credentials(s)
    assert isinstance(credentials, faust.SASLCredentials)
    assert KAFKA_SECRET not in repr(credentials)
    # What faust hands to aiokafka, and aiokafka accepts.
    auth = dict(credentials_to_aiokafka_auth(credentials))
    assert auth == {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": mechanism,
        "sasl_plain_username": "tthc",
        "sasl_plain_password": KAFKA_SECRET,
        "ssl_context": None,
    }
    for client in (AIOKafkaConsumer, AIOKafkaProducer):
        assert set(auth) <= set(inspect.signature(client).parameters), client


def test_sasl_ssl_and_ssl(tmp_path: Path) -> None:
    # A CA file ssl can load: the system bundle.
    ca = Path(ssl.get_default_verify_paths().cafile or "/etc/ssl/certs/ca-certificates.crt")
    s = settings(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_sasl_username="tthc",
        kafka_sasl_password=KAFKA_SECRET,
        kafka_tls_ca_file=ca,
    )
    config = kafka_python_config(s)
    assert config["security_protocol"] == "SASL_SSL"
    assert isinstance(config["ssl_context"], ssl.SSLContext)
    assert config["ssl_context"].check_hostname and config["ssl_context"].verify_mode == (
        ssl.CERT_REQUIRED
    )
    auth = credentials_to_aiokafka_auth(faust_credentials(s))
    assert auth["security_protocol"] == "SASL_SSL"
    assert auth["sasl_mechanism"] == "SCRAM-SHA-512"
    assert isinstance(auth["ssl_context"], ssl.SSLContext)

    tls_only = settings(
        kafka_security_protocol="SSL", kafka_tls_ca_file=ca, kafka_tls_check_hostname=False
    )
    config = kafka_python_config(tls_only)
    assert config["security_protocol"] == "SSL" and not config["ssl_context"].check_hostname
    auth = credentials_to_aiokafka_auth(faust_credentials(tls_only))
    assert auth["security_protocol"] == "SSL"


def test_the_worker_app_gets_the_credentials() -> None:
    from streams.app import create_app

    s = settings(
        kafka_bootstrap="127.0.0.1:9",
        redis_url="redis://127.0.0.1:9/0",
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_mechanism="SCRAM-SHA-256",
        kafka_sasl_username="tthc",
        kafka_sasl_password=KAFKA_SECRET,
    )
    app = create_app(s)
    credentials = app.conf.broker_credentials
    assert isinstance(credentials, faust.SASLCredentials)
    assert credentials.mechanism.value == "SCRAM-SHA-256"
    assert credentials.password == KAFKA_SECRET
