"""Settings from the environment (``TTHC_*``) and command-line options."""

from __future__ import annotations

import tempfile
from datetime import time, timedelta
from functools import cached_property
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from tthc_monitor.core.alerts import load_alert_leads
from tthc_monitor.core.calendar import WorkingCalendar, load_calendar
from tthc_monitor.core.engine import Engine
from tthc_monitor.core.periods import PeriodScheme
from tthc_monitor.reference.registry import Registry, load_registry


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TTHC_", extra="ignore")

    kafka_bootstrap: str | None = None
    """host:port[,host:port]; None means 'start an embedded broker' (``up`` only)."""
    redis_url: str | None = None
    namespace: str = "tthc"

    units: Path | None = None
    procedures: Path | None = None
    holidays: Path | None = None
    period_cut_day: int = Field(default=15, ge=1, le=28)
    office_end: time = time(17, 0)

    topic: str = "dossier-events"
    dlq_topic: str = "dossier-events-dlq"
    partitions: int = Field(default=8, ge=1)
    consumer_group: str = "tthc-monitor"
    broker_session_timeout: float = Field(default=10.0, gt=0)
    web_port: int = 6066
    worker_metrics_port: int | None = None
    """The worker's own /metrics (pipeline health); unset: not served."""
    worker_metrics_host: str = "127.0.0.1"
    admin_token: SecretStr | None = None
    """Bearer token for `serve`'s admin routes (TTHC_ADMIN_TOKEN); unset disables them."""
    batch_size: int = Field(default=500, ge=1)
    """Events the worker applies in one Redis round trip at most."""
    batch_wait_ms: int = Field(default=50, ge=1)
    """How long a partial batch waits for more events."""
    data_dir: Path | None = None
    """Faust's working directory (it keeps no state there: tables are not used)."""
    snapshot_grace_days: int = Field(default=2, ge=0)
    """Days after a period's end before the worker freezes it (late events still come)."""
    snapshot_check_seconds: float = Field(default=60.0, gt=0)
    """How often the worker looks for a period to freeze."""

    alerts_topic: str = "dossier-alerts"
    alert_lead_days: int = Field(default=1, ge=1)
    alert_leads: Path | None = None
    """CSV ``procedure_id,lead_days``: per-procedure due_soon leads (TTHC_ALERT_LEADS)."""
    """Working days before the due's date that ``due_soon`` fires (07:30)."""
    alert_horizon_days: float = Field(default=31.0, gt=0)
    """A planned alert older than this when first planned is not sent (a replay of old
    history must not flood units); also how long fired markers are kept, plus margin."""
    alert_sweep_seconds: float = Field(default=0.5, gt=0)
    """How often each worker claims due alerts and delivers them."""
    alert_batch: int = Field(default=1000, ge=1)
    """Alerts claimed (and delivered) per Redis call at most."""
    alert_lease_seconds: float = Field(default=30.0, gt=0)
    """An alert a worker took for delivery returns to the outbox after this long
    without an acknowledgement (the worker died): at-least-once."""
    alert_webhook_url: str | None = None
    """POST every alert as JSON here too (retried with backoff; dedupe on alert_id)."""
    clock_file: Path | None = None
    """TEST ONLY: a file holding the current time (RFC 3339), read whenever the worker
    asks for the time, so integration tests can run a month of deadlines in seconds."""

    @property
    def faust_data_dir(self) -> Path:
        return self.data_dir or Path(tempfile.gettempdir()) / "tthc-monitor" / self.consumer_group

    @cached_property
    def registry(self) -> Registry:
        return load_registry(self.units, self.procedures)

    @cached_property
    def calendar(self) -> WorkingCalendar:
        return load_calendar(self.holidays, office_end=self.office_end)

    @cached_property
    def periods(self) -> PeriodScheme:
        return PeriodScheme(cut_day=self.period_cut_day)

    @cached_property
    def engine(self) -> Engine:
        return Engine(
            self.registry,
            self.calendar,
            self.periods,
            self.alert_lead_days,
            load_alert_leads(self.alert_leads) if self.alert_leads else {},
        )

    @property
    def alert_horizon(self) -> timedelta:
        return timedelta(days=self.alert_horizon_days)

    def require_redis(self) -> str:
        if not self.redis_url:
            raise SystemExit("TTHC_REDIS_URL is not set (or pass --redis-url)")
        return self.redis_url

    def require_kafka(self) -> str:
        if not self.kafka_bootstrap:
            raise SystemExit("TTHC_KAFKA_BOOTSTRAP is not set (or pass --kafka-bootstrap)")
        return self.kafka_bootstrap
