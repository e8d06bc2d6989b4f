"""Where fired alerts go: Kafka (``dossier-alerts``) and an optional HTTP webhook.

Both get the same JSON (``schemas/alerts.py``, ``schemas/alert.v1.schema.json``) and
both are at-least-once: consumers dedupe on ``alert_id``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import aiohttp

from tthc_monitor.core.alerts import Alert

log = logging.getLogger("tthc_monitor.alerts")


def alert_json(alert: Alert) -> bytes:
    body = {"schema_version": 1, **alert.as_dict()}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


Send = Callable[[bytes, bytes], Awaitable[Awaitable[Any]]]
"""Queue one Kafka message (key, value); the awaitable it returns resolves on the ack."""


class KafkaSink:
    """Keyed by dossier, so one dossier's alerts stay in order on one partition."""

    name = "kafka"

    def __init__(self, send: Send) -> None:
        self.send = send

    async def deliver(self, alerts: Sequence[Alert]) -> int:
        pending = [await self.send(a.dossier_id.encode("utf-8"), alert_json(a)) for a in alerts]
        # All or nothing: if one is not acknowledged the batch is delivered again.
        await asyncio.gather(*pending)
        return len(alerts)


class WebhookSink:
    """POSTs each alert; retries with exponential backoff; stops at the first alert that
    keeps failing (the rest wait for the next tick, in order)."""

    name = "webhook"

    def __init__(
        self,
        url: str,
        *,
        attempts: int = 5,
        first_delay: float = 0.5,
        timeout: float = 10.0,
    ) -> None:
        self.url = url
        self.attempts = attempts
        self.first_delay = first_delay
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def deliver(self, alerts: Sequence[Alert]) -> int:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        for done, alert in enumerate(alerts):
            if not await self._post(self._session, alert):
                return done
        return len(alerts)

    async def _post(self, session: aiohttp.ClientSession, alert: Alert) -> bool:
        delay = self.first_delay
        headers = {"Content-Type": "application/json", "Idempotency-Key": alert.alert_id}
        for attempt in range(self.attempts):
            try:
                async with session.post(self.url, data=alert_json(alert), headers=headers) as r:
                    if r.status < 300:
                        return True
                    problem = f"HTTP {r.status}"
            except (TimeoutError, aiohttp.ClientError) as error:
                problem = type(error).__name__
            if attempt + 1 < self.attempts:
                await asyncio.sleep(delay)
                delay *= 2
        log.warning("webhook refused alert %s (%s); retrying later", alert.alert_id, problem)
        return False

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
