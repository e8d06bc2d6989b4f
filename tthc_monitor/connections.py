"""Redis and Kafka clients built from the settings: credentials and TLS in one place.

Every client of the project is created here (or from what this module returns), so
that Redis AUTH/ACL and TLS, and Kafka SASL and TLS, apply everywhere alike:

* Redis: :func:`redis_url` folds ``TTHC_REDIS_USERNAME`` / ``TTHC_REDIS_PASSWORD`` and
  the ``TTHC_REDIS_TLS*`` settings into the connection URL that redis-py parses
  (``rediss://user:password@host:port/db?ssl_ca_certs=...``). Settings does this once at
  validation, so ``settings.redis_url`` is the URL to connect with, including in code
  that calls ``Redis.from_url(settings.redis_url)`` directly. That URL is a secret: print
  it only through :func:`mask_url`.
* Kafka: :func:`kafka_python_config` gives the keyword arguments of kafka-python's
  clients, :func:`faust_credentials` the ``broker_credentials`` of ``faust.App`` (which
  hands them to aiokafka).
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import redis
import redis.asyncio

if TYPE_CHECKING:
    from faust.types.auth import CredentialsT

    from tthc_monitor.config import Settings

SASL_PROTOCOLS = frozenset({"SASL_PLAINTEXT", "SASL_SSL"})
TLS_PROTOCOLS = frozenset({"SSL", "SASL_SSL"})

REDIS_AUTH_HINT = (
    "set TTHC_REDIS_PASSWORD (and TTHC_REDIS_USERNAME for an ACL user), "
    "or put them in TTHC_REDIS_URL"
)


class ServiceAccessError(Exception):
    """A service refused our credentials or TLS: a configuration problem, not an outage."""


def mask_url(url: str | None) -> str:
    """The URL with its password replaced by ``***`` (for logs and messages)."""
    if not url:
        return str(url)
    parts = urlsplit(url)
    if parts.password is None:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{hostport}"))


def redis_url(
    url: str,
    *,
    username: str | None = None,
    password: str | None = None,
    tls: bool = False,
    ca_file: Path | None = None,
    cert_file: Path | None = None,
    key_file: Path | None = None,
    check_hostname: bool = True,
) -> str:
    """``url`` with the given credentials and TLS options in it (they replace the URL's).

    redis-py reads ``username``, ``password``, the ``rediss`` scheme and the ``ssl_*``
    query arguments from the URL, for the synchronous and the asyncio client alike.
    """
    parts = urlsplit(url)
    if parts.scheme == "unix":
        # A socket path: TLS does not apply, credentials go in the query.
        query = dict(parse_qsl(parts.query))
        if username:
            query["username"] = username
        if password:
            query["password"] = password
        return urlunsplit(parts._replace(query=urlencode(query)))
    scheme = "rediss" if tls and parts.scheme == "redis" else parts.scheme
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, _, secret = userinfo.partition(":")
    if username is not None:
        user = quote(username, safe="")
    if password is not None:
        secret = quote(password, safe="")
    if user or secret:
        netloc = f"{user}:{secret}@{hostport}" if secret else f"{user}@{hostport}"
    else:
        netloc = hostport
    query = dict(parse_qsl(parts.query))
    if scheme == "rediss":
        if ca_file:
            query["ssl_ca_certs"] = str(ca_file)
        if cert_file:
            query["ssl_certfile"] = str(cert_file)
        if key_file:
            query["ssl_keyfile"] = str(key_file)
        if not check_hostname:
            query["ssl_check_hostname"] = "false"
    return urlunsplit((scheme, netloc, parts.path, urlencode(query), parts.fragment))


def redis_client(settings: Settings, url: str | None = None) -> redis.asyncio.Redis:
    """An asyncio client of the configured Redis (or of ``url``, e.g. an embedded one)."""
    return redis.asyncio.Redis.from_url(url or settings.require_redis(), decode_responses=True)


def redis_sync_client(settings: Settings, url: str | None = None) -> redis.Redis:
    """A blocking client: ``serve`` runs each of its reads (the exporter at scrape time,
    the wall and the API) in a worker thread, off the event loop; ``check_redis`` pings
    with one before a command starts."""
    return redis.Redis.from_url(url or settings.require_redis(), decode_responses=True)


def check_redis(settings: Settings, url: str | None = None) -> None:
    """Fail fast, with a clear message, when Redis refuses our credentials or TLS.

    An unreachable Redis is not an error here: the worker retries until it returns.
    """
    target = url or settings.require_redis()
    client = redis_sync_client(settings, target)
    try:
        client.ping()
    except redis.exceptions.AuthenticationError as error:
        raise ServiceAccessError(
            f"Redis at {mask_url(target)} refused the credentials ({error}): {REDIS_AUTH_HINT}"
        ) from None
    except redis.exceptions.NoPermissionError as error:
        raise ServiceAccessError(
            f"Redis at {mask_url(target)}: the ACL user may not run PING ({error}); "
            "see docs/security.md for the commands the user needs"
        ) from None
    except redis.exceptions.ConnectionError as error:
        if isinstance(error.__cause__ or error.__context__, ssl.SSLError) or "SSL" in str(error):
            raise ServiceAccessError(
                f"Redis at {mask_url(target)}: TLS failed ({error}); check TTHC_REDIS_TLS*"
            ) from None
    finally:
        client.close()


def tls_context(
    ca_file: Path | None,
    cert_file: Path | None,
    key_file: Path | None,
    check_hostname: bool,
) -> ssl.SSLContext:
    """A client TLS context: system CAs unless ``ca_file``, certificate always verified."""
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    context.check_hostname = check_hostname
    if cert_file:
        context.load_cert_chain(str(cert_file), str(key_file) if key_file else None)
    return context


def kafka_tls_context(settings: Settings) -> ssl.SSLContext | None:
    if settings.kafka_security_protocol not in TLS_PROTOCOLS:
        return None
    return tls_context(
        settings.kafka_tls_ca_file,
        settings.kafka_tls_cert_file,
        settings.kafka_tls_key_file,
        settings.kafka_tls_check_hostname,
    )


def kafka_python_config(settings: Settings) -> dict[str, Any]:
    """Security keyword arguments for KafkaProducer, KafkaConsumer and KafkaAdminClient."""
    config: dict[str, Any] = {"security_protocol": settings.kafka_security_protocol}
    if settings.kafka_security_protocol in SASL_PROTOCOLS:
        assert settings.kafka_sasl_password is not None  # checked by Settings
        config.update(
            sasl_mechanism=settings.kafka_sasl_mechanism,
            sasl_plain_username=settings.kafka_sasl_username,
            sasl_plain_password=settings.kafka_sasl_password.get_secret_value(),
        )
    context = kafka_tls_context(settings)
    if context is not None:
        config["ssl_context"] = context
    return config


def faust_credentials(settings: Settings) -> CredentialsT | None:
    """``broker_credentials`` for ``faust.App`` (None: PLAINTEXT)."""
    import faust

    protocol = settings.kafka_security_protocol
    context = kafka_tls_context(settings)
    if protocol in SASL_PROTOCOLS:
        assert settings.kafka_sasl_password is not None  # checked by Settings
        credentials: CredentialsT = faust.SASLCredentials(
            username=settings.kafka_sasl_username,
            password=settings.kafka_sasl_password.get_secret_value(),
            mechanism=settings.kafka_sasl_mechanism,
            # faust switches to SASL_SSL when given a context, SASL_PLAINTEXT otherwise.
            ssl_context=context,
        )
        return credentials
    if context is not None:
        return faust.SSLCredentials(context)
    return None
