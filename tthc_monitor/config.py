"""Settings from the environment (``TTHC_*``) and command-line options."""

from __future__ import annotations

import tempfile
from datetime import time, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tthc_monitor.connections import SASL_PROTOCOLS, TLS_PROTOCOLS, mask_url, redis_url
from tthc_monitor.core.calendar import WorkingCalendar
from tthc_monitor.core.engine import Engine
from tthc_monitor.core.periods import PeriodScheme
from tthc_monitor.reference.alert_files import load_alert_leads
from tthc_monitor.reference.calendar_files import load_calendar
from tthc_monitor.reference.registry import Registry, load_registry


class Settings(BaseSettings):
    # hide_input_in_errors: a validation error would otherwise quote every input,
    # passwords included.
    model_config = SettingsConfigDict(env_prefix="TTHC_", extra="ignore", hide_input_in_errors=True)

    kafka_bootstrap: str | None = None
    """host:port[,host:port]; None means 'start an embedded broker' (``up`` only)."""
    redis_url: str | None = None
    """redis://[user:password@]host:port/db, or rediss:// for TLS. After validation it is
    the URL to connect with: the credential and TLS settings below are folded into it
    (tthc_monitor/connections.py), so it may hold a password: print it masked."""
    redis_username: str | None = None
    """ACL user (TTHC_REDIS_USERNAME); unset: the default user."""
    redis_password: SecretStr | None = None
    """requirepass or the ACL user's password (TTHC_REDIS_PASSWORD)."""
    redis_tls: bool = False
    """Connect with TLS (same as a rediss:// URL)."""
    redis_tls_ca_file: Path | None = None
    """CA bundle that signed the server's certificate (default: the system's)."""
    redis_tls_cert_file: Path | None = None
    """Client certificate, when the server requires one (tls-auth-clients)."""
    redis_tls_key_file: Path | None = None
    redis_tls_check_hostname: bool = True

    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"] = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_tls_ca_file: Path | None = None
    """CA bundle that signed the brokers' certificates (default: the system's)."""
    kafka_tls_cert_file: Path | None = None
    """Client certificate for mutual TLS (SSL listeners with ssl.client.auth=required)."""
    kafka_tls_key_file: Path | None = None
    kafka_tls_check_hostname: bool = True

    namespace: str = "tthc"

    units: Path | None = None
    procedures: Path | None = None
    holidays: Path | None = None
    period_cut_day: int = Field(default=15, ge=1, le=28)
    office_end: time = time(17, 0)

    topic: str = "dossier-events"
    dlq_topic: str = "dossier-events-dlq"
    dlq_payload: Literal["reference", "copy"] = "reference"
    """What a dead letter carries: ``reference`` (default) the reason, ids, source
    topic/partition/offset and the sha256 of the bytes, no copy of the payload (it may hold
    personal data); ``copy`` also the original bytes (docs/security.md)."""
    partitions: int = Field(default=8, ge=1)
    topic_retention_ms: int = Field(default=-1, ge=-1)
    """``retention.ms`` of the events topic when the project creates it
    (TTHC_TOPIC_RETENTION_MS); -1 keeps every event, which ``tthc-monitor rebuild``
    needs to restore Redis from offset 0 (docs/operations.md, "Topics")."""
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
    fetch_max_wait_ms: int = Field(default=100, ge=1)
    """How long the broker may hold the worker's fetch request for data (Faust fixes
    1,500 ms, which showed as 1.5 s gaps in delivery: streams/transport.py)."""
    worker_stop_timeout: float = Field(default=8.0, gt=0)
    """Seconds a worker told to stop (SIGTERM, SIGINT) has to stop cleanly; past them it
    exits with status 75 without waiting further (e.g. for a broker that went away):
    what it acked is in Redis, what it did not is delivered again (docs/operations.md)."""
    up_file: Path | None = None
    """Where ``up`` writes the servers it started and the other commands look for them
    (TTHC_UP_FILE); unset: ``${XDG_STATE_HOME:-~/.local/state}/tthc-monitor/up.json``
    (tthc_monitor/upfile.py)."""
    data_dir: Path | None = None
    """Faust's working directory (it keeps no state there: tables are not used)."""
    snapshot_grace_days: int = Field(default=2, ge=0)
    """Days after a period's end before the worker freezes it (late events still come)."""
    snapshot_check_seconds: float = Field(default=60.0, gt=0)
    """How often the worker looks for a period to freeze."""
    compact_grace_days: int = Field(default=35, ge=0)
    """Days after the end of a closed dossier's latest period (frozen) before its state
    is compacted to a tombstone of its event ids (docs/redis-layout.md, "Retention")."""
    tombstone_days: float = Field(default=180.0, gt=0)
    """How long a compacted dossier's tombstone is kept (a Redis TTL): a duplicate or
    late event of it is recognised this long after compaction."""
    day_bucket_days: int = Field(default=7, ge=1)
    """Day buckets ``{ns}:p:d{date}`` (the wall's "today") older than this are deleted."""
    adjustment_months: int = Field(default=13, ge=1)
    """Adjustment lists of periods that ended more than this many months ago are deleted."""
    retention_check_seconds: float = Field(default=3600.0, gt=0)
    """How often the worker compacts closed dossiers and prunes by age (leader only)."""

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

    @model_validator(mode="after")
    def _connections(self) -> Settings:
        if self.redis_url:
            self.redis_url = redis_url(
                self.redis_url,
                username=self.redis_username,
                password=(self.redis_password.get_secret_value() if self.redis_password else None),
                tls=self.redis_tls,
                ca_file=self.redis_tls_ca_file,
                cert_file=self.redis_tls_cert_file,
                key_file=self.redis_tls_key_file,
                check_hostname=self.redis_tls_check_hostname,
            )
        protocol = self.kafka_security_protocol
        sasl = self.kafka_sasl_username is not None or self.kafka_sasl_password is not None
        if protocol in SASL_PROTOCOLS and not (
            self.kafka_sasl_username and self.kafka_sasl_password
        ):
            raise ValueError(
                f"TTHC_KAFKA_SECURITY_PROTOCOL={protocol} needs TTHC_KAFKA_SASL_USERNAME "
                "and TTHC_KAFKA_SASL_PASSWORD"
            )
        if sasl and protocol not in SASL_PROTOCOLS:
            raise ValueError(
                "TTHC_KAFKA_SASL_USERNAME/PASSWORD are set but TTHC_KAFKA_SECURITY_PROTOCOL="
                f"{protocol}: use SASL_SSL (or SASL_PLAINTEXT inside a trusted network)"
            )
        tls_files = (self.kafka_tls_ca_file, self.kafka_tls_cert_file, self.kafka_tls_key_file)
        if any(tls_files) and protocol not in TLS_PROTOCOLS:
            raise ValueError(
                f"TTHC_KAFKA_TLS_* files are set but TTHC_KAFKA_SECURITY_PROTOCOL={protocol}: "
                "use SSL or SASL_SSL"
            )
        return self

    def __repr_args__(self) -> Any:
        # SecretStr fields already print as '**********'; the URL may carry a password.
        for name, value in super().__repr_args__():
            yield name, mask_url(value) if name == "redis_url" and value else value

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

    def topic_configs(self) -> dict[str, dict[str, str]]:
        """Configs of the topics the project creates (kafka_admin.ensure_topics)."""
        return {self.topic: {"retention.ms": str(self.topic_retention_ms)}}

    def require_redis(self) -> str:
        if not self.redis_url:
            raise SystemExit(
                "TTHC_REDIS_URL is not set (or pass --redis-url), and no `tthc-monitor up` runs"
            )
        return self.redis_url

    def require_kafka(self) -> str:
        if not self.kafka_bootstrap:
            raise SystemExit(
                "TTHC_KAFKA_BOOTSTRAP is not set (or pass --kafka-bootstrap), "
                "and no `tthc-monitor up` runs"
            )
        return self.kafka_bootstrap
