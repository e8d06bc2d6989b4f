"""Exit codes of ``tthc-monitor`` and the one place that turns known errors into them.

Every command raises; :func:`explain` maps what it raised to one line on stderr and an
exit code (docs/cli.md, "Exit codes"). An error that is not listed here is a bug and
keeps its traceback.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass

import kafka.errors
import redis.exceptions
from pydantic import ValidationError

from tthc_monitor.config import Settings
from tthc_monitor.connections import REDIS_AUTH_HINT, ServiceAccessError, mask_url
from tthc_monitor.embedded import EmbeddedUnavailable
from tthc_monitor.reference.calendar_files import AdjustmentFileError
from tthc_monitor.reference.registry import ReferenceDataError
from tthc_monitor.report.model import ReportError
from tthc_monitor.report.profile import ProfileError
from tthc_monitor.store.snapshots import PeriodOpen

OK = 0
FAILED = 1
"""The command ran but could not do what was asked: no such frozen version, the period
has not ended, ``publish --wait`` timed out, Redis refused a write."""
USAGE = 2
"""Bad arguments, a missing or unreadable file, invalid input lines, invalid reference
data or settings, credentials or TLS refused: fix the invocation or the configuration."""
TRUNCATED = 3
"""``rebuild``: the topic no longer starts at offset 0 (see --allow-truncated)."""
INCOMPLETE = 4
"""``rebuild``: offsets that should hold records could not be read."""
UNAVAILABLE = 69
"""A service (Kafka, Redis) cannot be reached: EX_UNAVAILABLE of sysexits.h. Try again
once it is back; nothing needs fixing in the command."""
INTERRUPTED = 130
"""Ctrl-C (128 + SIGINT), as shells report it."""

KAFKA_SECURITY_HINT = (
    "check TTHC_KAFKA_BOOTSTRAP and, for a secured cluster, TTHC_KAFKA_SECURITY_PROTOCOL, "
    "TTHC_KAFKA_SASL_MECHANISM/USERNAME/PASSWORD and TTHC_KAFKA_TLS_*"
)


class CommandError(Exception):
    """A failure the command explains itself, in one line, with its exit code."""

    def __init__(self, message: str, code: int = USAGE) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Explained:
    code: int
    message: str


def one_line(text: object) -> str:
    """``text`` on one line: the messages of some libraries span several."""
    return " ".join(str(text).split())


def explain(error: BaseException, settings: Settings | None) -> Explained | None:
    """The exit code and the line to print for a known error; None for a bug.

    ``settings``: the command's settings when it got that far, to name the address of
    a service that failed (its password masked).
    """
    if isinstance(error, CommandError):
        return Explained(error.code, one_line(error))
    if isinstance(error, KeyboardInterrupt):
        return Explained(INTERRUPTED, "interrupted")
    if isinstance(error, SystemExit) and isinstance(error.code, str):
        # Settings.require_kafka / require_redis: a service nobody configured.
        return Explained(USAGE, one_line(error.code))
    if isinstance(error, (FileNotFoundError, IsADirectoryError, NotADirectoryError)):
        return Explained(USAGE, f"cannot read {error.filename}: {error.strerror}")
    if isinstance(error, PermissionError):
        return Explained(USAGE, f"cannot open {error.filename}: {error.strerror}")
    if isinstance(error, ReferenceDataError):
        # One problem per line: a registry with several mistakes shows them all at once.
        return Explained(USAGE, str(error))
    if isinstance(error, ValidationError):
        return Explained(USAGE, _validation(error))
    if isinstance(
        error,
        (AdjustmentFileError, ProfileError, ReportError, ServiceAccessError, EmbeddedUnavailable),
    ):
        return Explained(USAGE, one_line(error))
    if isinstance(error, PeriodOpen):
        return Explained(FAILED, one_line(error))
    if isinstance(error, TimeoutError):
        return Explained(FAILED, one_line(error))
    if isinstance(error, redis.exceptions.RedisError):
        return _redis(error, settings)
    if isinstance(error, kafka.errors.KafkaError):
        return _kafka(error, settings)
    return None


def _validation(error: ValidationError) -> str:
    """Settings name the environment variable; other models (a report profile) the field."""
    problems = []
    for detail in error.errors(include_url=False):
        where = ".".join(str(p) for p in detail["loc"])
        if where and error.title == "Settings":
            where = f"TTHC_{where.upper()}"
        problems.append(f"{where}: {detail['msg']}" if where else str(detail["msg"]))
    what = "settings" if error.title == "Settings" else error.title
    return f"invalid {what}: " + one_line("; ".join(problems))


def _redis(error: redis.exceptions.RedisError, settings: Settings | None) -> Explained:
    url = mask_url(settings.redis_url) if settings and settings.redis_url else None
    at = f" at {url}" if url else ""
    # AuthenticationError is a ConnectionError in redis-py: it goes first.
    if isinstance(error, redis.exceptions.AuthenticationError):
        return Explained(
            USAGE, f"Redis{at} refused the credentials ({one_line(error)}): {REDIS_AUTH_HINT}"
        )
    if isinstance(error, redis.exceptions.NoPermissionError):
        return Explained(USAGE, f"the Redis ACL user lacks a permission: {one_line(error)}")
    if isinstance(error, (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)):
        cause = error.__cause__ or error.__context__
        if isinstance(cause, ssl.SSLError) or "SSL" in str(error):
            return Explained(
                USAGE, f"Redis{at}: TLS failed ({one_line(error)}); check TTHC_REDIS_TLS*"
            )
        # redis-py names the host and port it tried; never the URL's password.
        return Explained(UNAVAILABLE, f"cannot reach Redis{at}: {one_line(error)}")
    if isinstance(error, redis.exceptions.ResponseError):
        # A write Redis refused (e.g. WRONGTYPE on a key): its own message names the key.
        return Explained(FAILED, f"Redis refused a command: {one_line(error)}")
    return Explained(FAILED, f"Redis: {one_line(error)}")


UNREACHABLE_KAFKA = (
    # kafka-python 3 says "Unable to bootstrap from HOST:PORT" with a KafkaTimeoutError
    # (30 s by default); 2.x raised NoBrokersAvailable, a KafkaError too.
    kafka.errors.KafkaConnectionError,
    kafka.errors.KafkaTimeoutError,
    getattr(kafka.errors, "NoBrokersAvailable", kafka.errors.KafkaConnectionError),
)


def _kafka(error: kafka.errors.KafkaError, settings: Settings | None) -> Explained:
    bootstrap = settings.kafka_bootstrap if settings else None
    at = f" at {bootstrap}" if bootstrap else ""
    secured = settings is not None and settings.kafka_security_protocol != "PLAINTEXT"
    if isinstance(error, UNREACHABLE_KAFKA) and not secured:
        return Explained(UNAVAILABLE, f"cannot reach Kafka{at}: {one_line(error)}")
    # kafka-python keeps retrying a bootstrap that refuses our SASL credentials or TLS, so
    # a refusal looks like an unreachable broker: name both causes, as a configuration
    # problem.
    return Explained(USAGE, f"Kafka{at}: {one_line(error)}; {KAFKA_SECURITY_HINT}")
