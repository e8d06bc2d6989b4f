"""Redis with a password, an ACL user and TLS: a private Debian redis-server per module.

Every command reaches Redis through the credentials and TLS settings
(``TTHC_REDIS_USERNAME``, ``TTHC_REDIS_PASSWORD``, ``TTHC_REDIS_TLS*``) or a URL that
carries them, and fails with a clear message, never a traceback nor the password, without
them.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.integration import scenario
from tests.integration.conftest import ROOT, Env, Services
from tests.programs import require
from tthc_monitor.embedded import free_port, wait_for_port

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

ADMIN_PASSWORD = "admin-Pa55:w@rd/with%odd&chars"
USER = "tthc-app"
USER_PASSWORD = "app-Secret-7f3e9c"
WRONG_PASSWORD = "wrong-Secret-0000"
# The application's ACL user: its own key prefix, no admin or dangerous commands
# (FLUSHALL, CONFIG, KEYS, DEBUG, ...) but INFO (serve's Redis memory series).
# docs/security.md shows the same line.
ACL_RULES = "on >{password} ~{prefix}* &* +@all -@admin -@dangerous +info"


@dataclass(frozen=True)
class SecureRedis:
    port: int
    prefix: str
    """Every namespace used against this server starts with this (the ACL key pattern)."""

    @property
    def url(self) -> str:
        """The URL without credentials (they come from TTHC_REDIS_USERNAME/PASSWORD)."""
        return f"redis://127.0.0.1:{self.port}/0"

    def admin(self) -> redis.Redis:
        return redis.Redis(port=self.port, password=ADMIN_PASSWORD, decode_responses=True)


def start_redis(directory: Path, *args: str) -> tuple[subprocess.Popen[bytes], int]:
    redis_server = require("redis-server", "redis-server")
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = (directory / "redis.log").open("wb")
    process = subprocess.Popen(
        [
            redis_server,
            "--bind",
            "127.0.0.1",
            "--dir",
            str(directory),
            "--save",
            "",
            "--appendonly",
            "no",
            *[a.replace("{port}", str(port)) for a in args],
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    wait_for_port(port, process, "redis-server", 20)
    return process, port


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def secure_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureRedis]:
    prefix = f"sec{uuid.uuid4().hex[:6]}"
    acl = ACL_RULES.format(password=USER_PASSWORD, prefix=prefix)
    process, port = start_redis(
        tmp_path_factory.mktemp("secure-redis"),
        "--port",
        "{port}",
        "--requirepass",
        ADMIN_PASSWORD,
        # redis-server takes an option's words as separate arguments
        "--user",
        USER,
        *acl.split(),
    )
    try:
        yield SecureRedis(port, prefix)
    finally:
        stop(process)


def run_cli(
    environment: dict[str, str], *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tthc_monitor.cli.main", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


def base_env(url: str, namespace: str, **extra: str) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TTHC_")}
    environment.update(TTHC_REDIS_URL=url, TTHC_NAMESPACE=namespace, PYTHONPATH=str(ROOT))
    environment.update(extra)
    return environment


def credentials(**extra: str) -> dict[str, str]:
    return {"TTHC_REDIS_USERNAME": USER, "TTHC_REDIS_PASSWORD": USER_PASSWORD, **extra}


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "scenario.jsonl"
    path.write_bytes(b"\n".join(scenario.stream()) + b"\n")
    return path


def figures(snapshot_json: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(snapshot_json)
    return {**document, "as_of": None}


def assert_no_secret(*texts: str) -> None:
    for secret in (ADMIN_PASSWORD, USER_PASSWORD, WRONG_PASSWORD):
        for text in texts:
            assert secret not in text


def start_serve(environment: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tthc_monitor.cli.main",
            "serve",
            "--port",
            str(port),
            "--period",
            "2022-04",
        ],
        env=environment,
        cwd=ROOT,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with socket.create_connection(("127.0.0.1", port), 0.5):
                break
        except OSError:
            time.sleep(0.1)
    return process, f"http://127.0.0.1:{port}"


def http_get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_replay_snapshot_serve_with_acl_user(
    secure_redis: SecureRedis, source: Path, tmp_path: Path
) -> None:
    namespace = f"{secure_redis.prefix}a"
    environment = base_env(secure_redis.url, namespace, **credentials())
    replayed = run_cli(environment, "replay", str(source), "--skip-invalid", "--period", "2022-04")
    assert replayed.returncode == 0, replayed.stderr
    assert "applied" in replayed.stderr
    live = run_cli(environment, "snapshot", "--period", "2022-04")
    assert live.returncode == 0, live.stderr
    assert figures(live.stdout) == figures(replayed.stdout)  # read back through the ACL user
    frozen = run_cli(environment, "snapshot", "--period", "2022-04", "--freeze")
    assert frozen.returncode == 0, frozen.stderr
    assert frozen.stdout.strip() == "1"

    # The keys are where the ACL allows, written by the ACL user.
    admin = secure_redis.admin()
    assert any(admin.scan_iter(f"{namespace}:*", count=1000))

    log = tmp_path / "serve.log"
    process, base = start_serve(environment, log)
    try:
        status, body = http_get(f"{base}/metrics")
        assert status == 200 and b"tthc_" in body
        assert b"\ntthc_redis_memory_used_bytes " in body  # INFO allowed by +info
        status, body = http_get(f"{base}/api/summary?period=2022-04")
        assert status == 200, body
        status, body = http_get(f"{base}/api/snapshots?period=2022-04")
        assert status == 200 and b'"version": 1' in body.replace(b'"version":1', b'"version": 1')
    finally:
        process.terminate()
        process.wait(10)
    assert_no_secret(replayed.stderr, live.stderr, frozen.stderr, log.read_text())


def test_password_inside_the_url(secure_redis: SecureRedis, source: Path, tmp_path: Path) -> None:
    """requirepass through the default user, the password in TTHC_REDIS_URL (encoded)."""
    from urllib.parse import quote

    namespace = f"{secure_redis.prefix}u"
    url = f"redis://:{quote(ADMIN_PASSWORD, safe='')}@127.0.0.1:{secure_redis.port}/0"
    environment = base_env(url, namespace)
    replayed = run_cli(environment, "replay", str(source), "--skip-invalid", "--period", "2022-04")
    assert replayed.returncode == 0, replayed.stderr
    log = tmp_path / "serve.log"
    process, base = start_serve(environment, log)
    try:
        status, _ = http_get(f"{base}/api/summary?period=2022-04")
        assert status == 200
    finally:
        process.terminate()
        process.wait(10)
    assert_no_secret(replayed.stderr, log.read_text())
    assert quote(ADMIN_PASSWORD, safe="") not in log.read_text()


@pytest.mark.parametrize(
    "given",
    [
        pytest.param({}, id="no-credentials"),
        pytest.param(credentials(TTHC_REDIS_PASSWORD=WRONG_PASSWORD), id="wrong-password"),
    ],
)
def test_without_the_credentials_each_command_says_so(
    secure_redis: SecureRedis, source: Path, tmp_path: Path, given: dict[str, str]
) -> None:
    environment = base_env(secure_redis.url, f"{secure_redis.prefix}n", **given)
    outputs: list[str] = []
    for args in (
        ("replay", str(source), "--skip-invalid"),
        ("snapshot", "--period", "2022-04"),
        ("snapshot", "--period", "2022-04", "--freeze"),
        ("report", "--period", "2022-04", "--out", str(tmp_path / "report")),
        ("serve", "--port", str(free_port())),
    ):
        result = run_cli(environment, *args, timeout=60)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr, result.stderr
        assert "Redis" in result.stderr and "refused the credentials" in result.stderr
        assert "TTHC_REDIS_PASSWORD" in result.stderr  # what to set
        outputs += [result.stdout, result.stderr]
    assert_no_secret(*outputs)
    # Nothing was written.
    assert not any(secure_redis.admin().scan_iter(f"{secure_redis.prefix}n:*"))


def test_acl_user_cannot_leave_its_prefix(secure_redis: SecureRedis, source: Path) -> None:
    """The ACL line of docs/security.md really confines the application's user."""
    environment = base_env(secure_redis.url, "elsewhere", **credentials())
    result = run_cli(environment, "replay", str(source), "--skip-invalid")
    assert result.returncode == 2, result.stderr
    assert "lacks a permission" in result.stderr
    assert_no_secret(result.stderr)


class SecureEnv(Env):
    """The shared Kafka with the private password-protected Redis."""

    admin_url: str = ""

    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.admin_url, decode_responses=True)

    @property
    def namespace(self) -> str:
        return self.tag  # starts with the ACL user's key prefix


def test_worker_and_publish_with_credentials(
    services: Services, secure_redis: SecureRedis, tmp_path: Path
) -> None:
    from urllib.parse import quote

    environment = SecureEnv(Services(services.kafka, secure_redis.url))
    environment.admin_url = (
        f"redis://:{quote(ADMIN_PASSWORD, safe='')}@127.0.0.1:{secure_redis.port}/0"
    )
    environment.tag = f"{secure_redis.prefix}w{uuid.uuid4().hex[:6]}"
    environment.extra.update(credentials())
    try:
        source = tmp_path / "scenario.jsonl"
        source.write_bytes(b"\n".join(scenario.stream()) + b"\n")
        environment.start_worker(tmp_path)
        environment.cli("publish", str(source), "--skip-invalid", "--wait", "--timeout", "120")
        stats = environment.stats()
        assert stats["applied"] == len(scenario.events())
        document = environment.cli("snapshot", "--period", "2022-04").stdout
        replay_env = base_env(
            secure_redis.url, f"{secure_redis.prefix}r{environment.tag}", **credentials()
        )
        replayed = run_cli(
            replay_env, "replay", str(source), "--skip-invalid", "--period", "2022-04"
        )
        assert replayed.returncode == 0, replayed.stderr
        assert figures(document) == figures(replayed.stdout)
        assert_no_secret(environment.tail())
    finally:
        environment.stop()


# ---------------------------------------------------------------------------------- TLS


def make_certificates(directory: Path) -> dict[str, Path]:
    """A throw-away CA and a server certificate for 127.0.0.1, with openssl."""
    openssl = require("openssl", "openssl")
    files = {n: directory / f"{n}.pem" for n in ("ca", "ca-key", "server", "server-key")}
    csr, ext = directory / "server.csr", directory / "server.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1\n")

    def run(*args: Any) -> None:
        subprocess.run([openssl, *map(str, args)], check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=tthc-test-ca",
        "-keyout", files["ca-key"], "-out", files["ca"])  # fmt: skip
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
        "-keyout", files["server-key"], "-out", csr)  # fmt: skip
    run("x509", "-req", "-in", csr, "-CA", files["ca"], "-CAkey", files["ca-key"],
        "-CAcreateserial", "-days", "1", "-extfile", ext, "-out", files["server"])  # fmt: skip
    return files


@pytest.fixture(scope="module")
def tls_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    directory = tmp_path_factory.mktemp("tls-redis")
    files = make_certificates(directory)
    process, port = start_redis(
        directory,
        "--port",
        "0",
        "--tls-port",
        "{port}",
        "--tls-cert-file",
        str(files["server"]),
        "--tls-key-file",
        str(files["server-key"]),
        "--tls-ca-cert-file",
        str(files["ca"]),
        "--tls-auth-clients",
        "no",
        "--requirepass",
        USER_PASSWORD,
    )
    try:
        yield port, files["ca"]
    finally:
        stop(process)


def test_tls_with_password(tls_redis: tuple[int, Path], source: Path, tmp_path: Path) -> None:
    port, ca = tls_redis
    url = f"redis://127.0.0.1:{port}/0"
    settings = {"TTHC_REDIS_PASSWORD": USER_PASSWORD, "TTHC_REDIS_TLS": "true"}
    environment = base_env(url, "tls", **settings, TTHC_REDIS_TLS_CA_FILE=str(ca))
    replayed = run_cli(environment, "replay", str(source), "--skip-invalid", "--period", "2022-04")
    assert replayed.returncode == 0, replayed.stderr
    live = run_cli(environment, "snapshot", "--period", "2022-04")
    assert live.returncode == 0 and figures(live.stdout) == figures(replayed.stdout)

    # A server certificate the client cannot verify (system CAs only): refused, clearly.
    untrusted = run_cli(base_env(url, "tls", **settings), "serve", "--port", str(free_port()))
    assert untrusted.returncode == 2, untrusted.stderr
    assert "TLS failed" in untrusted.stderr and "certificate verify failed" in untrusted.stderr
    assert_no_secret(replayed.stderr, live.stderr, untrusted.stderr)
