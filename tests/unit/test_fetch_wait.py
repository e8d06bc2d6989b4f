"""The worker's consumer takes the fetch wait from the settings (streams/transport.py),
not Faust's fixed 1.5 s, and keeps everything else Faust sets."""

from __future__ import annotations

import asyncio
import os

import aiokafka
import faust
import pytest
from faust.transport.drivers import aiokafka as faust_aiokafka

from tthc_monitor.config import Settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("TTHC_"):
            monkeypatch.delenv(name)


def settings(**values: object) -> Settings:
    base: dict[str, object] = {
        "kafka_bootstrap": "127.0.0.1:9",
        "redis_url": "redis://127.0.0.1:9/0",
    }
    return Settings.model_validate(base | values)


def consumer_of(app: faust.App) -> aiokafka.AIOKafkaConsumer:
    """The aiokafka consumer ``app``'s consumer thread would start with."""
    thread = app.consumer._thread  # type: ignore[attr-defined]
    assert isinstance(thread, faust_aiokafka.AIOKafkaConsumerThread)

    async def build() -> aiokafka.AIOKafkaConsumer:
        # aiokafka binds the consumer to the running loop; nothing connects yet.
        return thread._create_worker_consumer(app.transport)  # type: ignore[no-any-return]

    return asyncio.run(build())


def worker_consumer(s: Settings) -> aiokafka.AIOKafkaConsumer:
    from streams.app import create_app

    return consumer_of(create_app(s))


def test_the_consumer_waits_as_configured() -> None:
    consumer = worker_consumer(settings(fetch_max_wait_ms=123, consumer_group="g-fetch"))
    assert consumer._fetch_max_wait_ms == 123
    # Faust's own choices stay: the group, no auto commit (we ack after the state).
    assert consumer._group_id == "g-fetch"
    assert consumer._enable_auto_commit is False


def test_the_default_is_not_fausts_fixed_wait() -> None:
    assert Settings.model_fields["fetch_max_wait_ms"].default == 100
    assert worker_consumer(settings())._fetch_max_wait_ms == 100


def test_the_translator_alone_waits_as_configured() -> None:
    from pathlib import Path

    from streams.translator import create_translator
    from tthc_monitor.cdc.mapping import load

    root = Path(__file__).resolve().parents[2]
    mapping = load(root / "examples" / "one-stop" / "mapping.toml")
    app = create_translator(settings(fetch_max_wait_ms=77), mapping)
    assert consumer_of(app)._fetch_max_wait_ms == 77
