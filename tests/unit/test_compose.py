"""Checks of docker-compose.yml and the Dockerfile (no Docker engine needed).

The compose file is read twice: as YAML (its source form: `${VAR:?}` guards, `$$`
escapes) and through a real Compose implementation, `docker-compose config` (Debian's
docker-compose 1.29) and `docker compose config` where the v2 plugin is installed, which
validate it against their schema, interpolate .env.example and resolve the paths.
Without any of them these tests fail: `apt-get install docker-compose`.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from tthc_monitor.config import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
ENV_EXAMPLE = ROOT / ".env.example"
LOCALHOST = "127.0.0.1"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = compose["services"]
    return result


def image_tag(image: str) -> str | None:
    """The tag of an image reference (None when untagged); a digest counts as a tag."""
    if "@" in image:
        return image.split("@", 1)[1]
    last = image.rsplit("/", 1)[-1]  # a registry host may carry a port: host:5000/name:tag
    return last.split(":", 1)[1] if ":" in last else None


def is_pinned(image: str) -> bool:
    tag = image_tag(image)
    return tag is not None and tag != "latest" and any(c.isdigit() for c in tag)


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        pairs = (item.split("=", 1) for item in env)
        return {p[0]: (p[1] if len(p) > 1 else "") for p in pairs}
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def named_volume_mounts(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(volume name, container path) of the service's named-volume mounts."""
    mounts = []
    for entry in service.get("volumes") or []:
        if isinstance(entry, dict):
            if entry.get("type", "volume") == "volume" and entry.get("source"):
                mounts.append((entry["source"], entry["target"]))
            continue
        parts = entry.split(":")
        if len(parts) >= 2 and not parts[0].startswith(("/", ".", "~", "$")):
            mounts.append((parts[0], parts[1]))
    return mounts


def dockerfile_stages() -> list[tuple[str, str | None, list[str]]]:
    """(base image, stage name, instructions) per stage, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    stages: list[tuple[str, str | None, list[str]]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = re.match(r"FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", line, re.I)
        if match:
            stages.append((match.group(1), match.group(2), []))
        elif stages:
            stages[-1][2].append(line)
    return stages


# ---------------------------------------------------------------------------- compose --


def test_compose_spec_without_version_key(compose: dict[str, Any]) -> None:
    assert "version" not in compose, "the Compose spec has no version: key"
    assert set(compose["services"]) == {
        "kafka",
        "redis",
        "worker",
        "serve",
        "prometheus",
        "alertmanager",
        "grafana",
        "onestop-db",
        "connect",
        "translator",
    }


def test_cdc_services_are_behind_their_profile(services: dict[str, dict[str, Any]]) -> None:
    """`docker compose up` alone starts the monitor; `--profile cdc` adds the capture
    path (docs/cdc.md). Debian's docker-compose 1.29 knows profiles (since 1.28)."""
    cdc = {name for name, service in services.items() if "cdc" in (service.get("profiles") or [])}
    assert cdc == {"onestop-db", "connect", "translator"}
    for name in set(services) - cdc:
        assert not services[name].get("profiles"), name


def test_cdc_services_use_the_project_files(services: dict[str, dict[str, Any]]) -> None:
    db = services["onestop-db"]
    assert "wal_level=logical" in db["command"]
    mounts = {container: host for host, container, _ in bind_mounts(db)}
    assert mounts["/docker-entrypoint-initdb.d/10-schema.sql"] == "./examples/one-stop/schema.sql"
    assert environment(db)["POSTGRES_PASSWORD"].startswith("${ONESTOP_DB_PASSWORD:?")
    connect = services["connect"]
    assert connect["build"]["dockerfile"] == "examples/one-stop/connect.Dockerfile"
    mounts = {container: host for host, container, _ in bind_mounts(connect)}
    assert mounts["/etc/connect/connector.json"] == "./examples/one-stop/connector.json"
    env = environment(connect)
    assert env["TTHC_PG_CDC_PASSWORD"] == environment(db)["CDC_DB_PASSWORD"]
    # The connector file's ${env:...} placeholders are all given to the container.
    connector = json.loads((ROOT / "examples" / "one-stop" / "connector.json").read_text())
    wanted = set(re.findall(r"\$\{env:([A-Z_]+)\}", json.dumps(connector)))
    assert wanted and wanted <= set(env), sorted(wanted - set(env))
    translator = services["translator"]
    assert translator["image"] == services["worker"]["image"]
    assert translator["command"][:2] == ["cdc", "translate"]
    mounts = {container: host for host, container, _ in bind_mounts(translator)}
    assert mounts["/etc/tthc/mapping.toml"] == "./examples/one-stop/mapping.toml"
    # The Connect worker's topics and Kafka listener are the compose network's.
    worker_properties = (ROOT / "examples" / "one-stop" / "connect-worker.properties").read_text()
    assert "bootstrap.servers=kafka:9092" in worker_properties


def test_every_image_is_pinned(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        image = service.get("image")
        assert image, f"{name}: no image (a built service still needs a pinned image name)"
        assert is_pinned(image), f"{name}: image {image!r} is not pinned to a version"


def test_image_tag_parsing() -> None:
    assert is_pinned("apache/kafka:4.1.1")
    assert is_pinned("localhost:5000/redis:7.4.6-alpine")
    assert is_pinned("redis@sha256:" + "0" * 64)
    assert not is_pinned("redis")
    assert not is_pinned("redis:latest")
    assert not is_pinned("localhost:5000/redis")
    assert not is_pinned("redis:alpine")


def test_worker_image_matches_the_project_version(services: dict[str, dict[str, Any]]) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    worker = services["worker"]
    assert worker.get("build"), "the worker is built from the Dockerfile"
    assert worker["image"] == f"{project['name']}:{project['version']}"


def test_every_service_has_a_healthcheck(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        check = service.get("healthcheck")
        assert check, f"{name}: no healthcheck"
        assert not check.get("disable"), f"{name}: healthcheck disabled"
        test = check.get("test")
        assert test and test != ["NONE"], f"{name}: empty healthcheck"


def test_kafka_healthcheck_talks_to_the_broker(services: dict[str, dict[str, Any]]) -> None:
    test = " ".join(services["kafka"]["healthcheck"]["test"])
    assert "/opt/kafka/bin/kafka-broker-api-versions.sh" in test
    assert "--bootstrap-server" in test
    # The tool exits 0 even when the advertised address is unreachable ("-> ERROR").
    assert "-> ERROR" in test


def test_worker_waits_for_healthy_kafka_and_redis(services: dict[str, dict[str, Any]]) -> None:
    worker = services["worker"]
    depends = worker.get("depends_on")
    assert isinstance(depends, dict), "depends_on needs the long form to carry conditions"
    for dependency in ("kafka", "redis"):
        assert depends.get(dependency, {}).get("condition") == "service_healthy", dependency
    assert worker.get("restart") == "unless-stopped"
    assert worker.get("stop_grace_period") == "30s"
    assert worker.get("command") in ("worker", ["worker"])


def test_published_ports_are_bound_to_localhost(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        for port in service.get("ports") or []:
            if isinstance(port, dict):
                assert port.get("host_ip") == LOCALHOST, f"{name}: {port} is not bound to 127.0.0.1"
            else:
                text = str(port)
                assert text.startswith(f"{LOCALHOST}:") and text.count(":") == 2, (
                    f"{name}: {text!r} is not of the form 127.0.0.1:HOST:CONTAINER"
                )


def test_named_volumes_are_declared(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    declared = set(compose.get("volumes") or {})
    used = {volume for s in services.values() for volume, _ in named_volume_mounts(s)}
    assert used, "Kafka and Redis keep their data in named volumes"
    assert used <= declared, f"undeclared volumes: {sorted(used - declared)}"
    assert declared <= used, f"declared but unused volumes: {sorted(declared - used)}"


def test_kafka_logs_live_on_its_volume(services: dict[str, dict[str, Any]]) -> None:
    kafka = services["kafka"]
    log_dirs = environment(kafka)["KAFKA_LOG_DIRS"]
    targets = {target for _, target in named_volume_mounts(kafka)}
    assert all(d in targets for d in log_dirs.split(",")), (log_dirs, targets)


def test_kafka_is_a_single_kraft_node(services: dict[str, dict[str, Any]]) -> None:
    env = environment(services["kafka"])
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{env['KAFKA_NODE_ID']}@kafka:9093"
    assert env["CLUSTER_ID"]
    for key in (
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR",
    ):
        assert env[key] == "1", key
    assert int(env["KAFKA_NUM_PARTITIONS"]) == Settings.model_fields["partitions"].default


def test_redis_persists_with_aof(services: dict[str, dict[str, Any]]) -> None:
    command = services["redis"]["command"]
    words = (command if isinstance(command, str) else " ".join(command)).split()
    assert words[words.index("--appendonly") + 1] == "yes"
    assert words[words.index("--appendfsync") + 1] == "everysec"
    assert any(target == "/data" for _, target in named_volume_mounts(services["redis"]))


def test_worker_env_names_are_real_settings(services: dict[str, dict[str, Any]]) -> None:
    prefix = Settings.model_config.get("env_prefix")
    assert prefix == "TTHC_"
    known = {f"{prefix}{name.upper()}" for name in Settings.model_fields}
    env = environment(services["worker"])
    tthc = {name for name in env if name.startswith(prefix)}
    assert {"TTHC_KAFKA_BOOTSTRAP", "TTHC_REDIS_URL"} <= tthc
    assert tthc <= known, f"not settings of tthc_monitor.config.Settings: {sorted(tthc - known)}"


def test_worker_reaches_the_in_network_services(services: dict[str, dict[str, Any]]) -> None:
    env = environment(services["worker"])
    advertised = environment(services["kafka"])["KAFKA_ADVERTISED_LISTENERS"].split(",")
    endpoints = {listener.split("://", 1)[1] for listener in advertised}
    for server in env["TTHC_KAFKA_BOOTSTRAP"].split(","):
        assert server in endpoints, f"{server} is not an advertised Kafka listener"
    assert re.fullmatch(r"redis://redis:6379/\d+", env["TTHC_REDIS_URL"])


def test_redis_requires_the_password_from_env(services: dict[str, dict[str, Any]]) -> None:
    redis = services["redis"]
    command = " ".join(redis["command"]) if isinstance(redis["command"], list) else redis["command"]
    # requirepass goes through a config file, not redis-server's argv (ps shows argv).
    assert "requirepass" in command and "--requirepass" not in command
    assert "$$REDIS_PASSWORD" in command
    # The image's entrypoint still runs redis-server (it drops root for the redis user).
    assert "exec docker-entrypoint.sh redis-server /tmp/auth.conf" in command
    required = "${REDIS_PASSWORD:?"
    assert environment(redis)["REDIS_PASSWORD"].startswith(required)
    probe = healthcheck_words(redis)
    assert "REDISCLI_AUTH=" in probe and "-a " not in probe


def test_clients_of_redis_get_the_same_password(services: dict[str, dict[str, Any]]) -> None:
    for name in ("worker", "serve"):
        env = environment(services[name])
        assert env["TTHC_REDIS_PASSWORD"].startswith("${REDIS_PASSWORD:?"), name
        # The password is never inside the URL in the compose file.
        assert "@" not in env["TTHC_REDIS_URL"], name


def test_security_settings_are_real_settings(services: dict[str, dict[str, Any]]) -> None:
    known = {f"TTHC_{name.upper()}" for name in Settings.model_fields}
    for name in ("worker", "serve"):
        tthc = {n for n in environment(services[name]) if n.startswith("TTHC_")}
        assert tthc <= known, (name, sorted(tthc - known))
    assert {"TTHC_REDIS_PASSWORD", "TTHC_ADMIN_TOKEN"} <= known
    assert environment(services["serve"])["TTHC_ADMIN_TOKEN"] == "${TTHC_ADMIN_TOKEN:-}"


def test_env_example_redis_password_is_a_placeholder() -> None:
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    value = re.search(r"^REDIS_PASSWORD=(\S+)$", example, re.M)
    assert value and value.group(1).startswith("change-me")
    # Characters that survive redis.conf quoting and compose interpolation.
    assert re.fullmatch(r"[A-Za-z0-9._~-]+", value.group(1))


# ---------------------------------------------------------------------- monitoring stack --

OFFICIAL_IMAGES = {
    "prometheus": "prom/prometheus",
    "alertmanager": "prom/alertmanager",
    "grafana": "grafana/grafana",
}


def bind_mounts(service: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(host path, container path, read-only) of the service's bind mounts."""
    mounts = []
    for entry in service.get("volumes") or []:
        if isinstance(entry, dict):
            if entry.get("type") == "bind":
                mounts.append((entry["source"], entry["target"], bool(entry.get("read_only"))))
            continue
        parts = entry.split(":")
        if parts[0].startswith((".", "/")):
            mounts.append((parts[0], parts[1], len(parts) > 2 and "ro" in parts[2].split(",")))
    return mounts


def healthcheck_words(service: dict[str, Any]) -> str:
    test = service["healthcheck"]["test"]
    return " ".join(test) if isinstance(test, list) else str(test)


def test_monitoring_images_are_the_official_ones(services: dict[str, dict[str, Any]]) -> None:
    for name, repository in OFFICIAL_IMAGES.items():
        image = services[name]["image"]
        assert image.rsplit(":", 1)[0] == repository, image
        assert re.fullmatch(r"v?\d+\.\d+\.\d+", image_tag(image) or ""), f"{image}: x.y.z tag"


def test_serve_runs_the_exporter_from_the_worker_image(
    services: dict[str, dict[str, Any]],
) -> None:
    serve, worker = services["serve"], services["worker"]
    assert serve["image"] == worker["image"]
    assert serve["command"] == ["serve", "--host", "0.0.0.0", "--port", "8080"]
    assert environment(serve)["TTHC_REDIS_URL"] == environment(worker)["TTHC_REDIS_URL"]
    assert "/healthz" in healthcheck_words(serve)
    assert serve["depends_on"]["redis"]["condition"] == "service_healthy"


def test_worker_can_scale(services: dict[str, dict[str, Any]]) -> None:
    """`docker compose up --scale worker=3`: no fixed name, no host port."""
    worker = services["worker"]
    assert "container_name" not in worker
    assert not worker.get("ports")
    for name, service in services.items():
        assert "container_name" not in service, f"{name}: container_name blocks --scale"


def test_every_bind_mount_exists_and_is_read_only(services: dict[str, dict[str, Any]]) -> None:
    seen = set()
    for name, service in services.items():
        for host, container, read_only in bind_mounts(service):
            path = (ROOT / host).resolve()
            assert path.exists(), f"{name}: {host} does not exist in the repository"
            assert read_only, f"{name}: {host} -> {container} should be mounted :ro"
            seen.add((name, container))
    assert ("prometheus", "/etc/prometheus") in seen
    assert ("alertmanager", "/etc/alertmanager") in seen
    assert ("grafana", "/etc/grafana/provisioning") in seen
    assert ("grafana", "/var/lib/grafana/dashboards") in seen


def _container_to_host(service: dict[str, Any], path: str) -> Path:
    """The repository file behind a container path of the service's bind mounts."""
    for host, container, _ in bind_mounts(service):
        if path == container or path.startswith(container.rstrip("/") + "/"):
            return (ROOT / host / path[len(container) :].lstrip("/")).resolve()
    raise AssertionError(f"{path} is not under a bind mount")


def test_prometheus_config_paths_exist(services: dict[str, dict[str, Any]]) -> None:
    prometheus = services["prometheus"]
    flags = dict(arg.split("=", 1) for arg in prometheus["command"] if "=" in arg)
    config_file = _container_to_host(prometheus, flags["--config.file"])
    assert config_file.is_file()
    config = yaml.safe_load(config_file.read_text(encoding="utf-8"))
    rules = [p for pattern in config["rule_files"] for p in config_file.parent.glob(pattern)]
    assert rules, "rule_files match no file"
    jobs = config["scrape_configs"]
    targets = [t for job in jobs for c in job.get("static_configs", []) for t in c["targets"]]
    assert "serve:8080" in targets
    # Workers are found by DNS, so `--scale worker=N` needs no config change.
    workers = [job for job in jobs if job["job_name"] == "tthc-worker"]
    assert workers and workers[0]["dns_sd_configs"][0]["names"] == ["worker"]
    managers = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert managers == ["alertmanager:9093"]
    assert any(target == "/prometheus" for _, target in named_volume_mounts(prometheus))


def test_alertmanager_reads_its_config_and_webhook_file(
    services: dict[str, dict[str, Any]],
) -> None:
    alertmanager = services["alertmanager"]
    script = " ".join(alertmanager["command"])
    match = re.search(r"--config\.file=(\S+)", script)
    assert match
    config_file = _container_to_host(alertmanager, match.group(1))
    config = yaml.safe_load(config_file.read_text(encoding="utf-8"))
    url_files = {
        hook["url_file"] for r in config["receivers"] for hook in r.get("webhook_configs", [])
    }
    assert url_files == {"/alertmanager/tthc-webhook-url"}
    assert "> /alertmanager/tthc-webhook-url" in script
    assert "ALERTMANAGER_WEBHOOK_URL" in environment(alertmanager)


def test_grafana_provisioning_is_complete(services: dict[str, dict[str, Any]]) -> None:
    grafana = services["grafana"]
    provisioning = _container_to_host(grafana, "/etc/grafana/provisioning")
    datasources = yaml.safe_load(
        (provisioning / "datasources" / "prometheus.yml").read_text(encoding="utf-8")
    )["datasources"]
    assert [d["uid"] for d in datasources] == ["tthc-prometheus"]
    assert datasources[0]["url"] == "http://prometheus:9090"
    providers = yaml.safe_load(
        (provisioning / "dashboards" / "provider.yml").read_text(encoding="utf-8")
    )["providers"]
    (provider,) = providers
    assert provider["type"] == "file"
    folder = _container_to_host(grafana, provider["options"]["path"])
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards"
    assert {p.name for p in folder.glob("*.json")} >= {
        "tthc-wall.json",
        "tthc-unit.json",
        "tthc-operations.json",
    }
    env = environment(grafana)
    home = env["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert _container_to_host(grafana, home).is_file()
    assert env["GF_USERS_DEFAULT_THEME"] == "dark"
    # The password comes from .env and has no default in the compose file.
    assert env["GF_SECURITY_ADMIN_PASSWORD"].startswith("${GRAFANA_ADMIN_PASSWORD:?")


def test_env_example_covers_every_variable() -> None:
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    used = set(re.findall(r"(?<!\$)\$\{([A-Z_][A-Z0-9_]*)", text))
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    documented = set(re.findall(r"^#?\s*([A-Z_][A-Z0-9_]*)=", example, re.M))
    assert used == {
        "GRAFANA_ADMIN_USER",
        "GRAFANA_ADMIN_PASSWORD",
        "ALERTMANAGER_WEBHOOK_URL",
        "REDIS_PASSWORD",
        "TTHC_ADMIN_TOKEN",
        "ONESTOP_DB_PASSWORD",
        "CDC_DB_PASSWORD",
    }
    assert used <= documented, sorted(used - documented)


def test_monitoring_healthchecks_probe_http(services: dict[str, dict[str, Any]]) -> None:
    for name, path in (
        ("prometheus", "/-/healthy"),
        ("alertmanager", "/-/healthy"),
        ("grafana", "/api/health"),
        ("serve", "/healthz"),
    ):
        assert path in healthcheck_words(services[name]), name


# ------------------------------------------------------------------------- Dockerfile --


def test_dockerfile_base_images_are_pinned() -> None:
    stages = dockerfile_stages()
    assert len(stages) >= 2, "multi-stage build expected"
    names = {name for _, name, _ in stages if name}
    for base, _, _ in stages:
        if base in names:  # FROM an earlier stage
            continue
        assert is_pinned(base), f"base image {base!r} is not pinned"
        assert re.fullmatch(r"python:3\.11\.\d+-slim(-\w+)?", base), base


def test_dockerfile_runs_as_non_root() -> None:
    *_, (_, _, final) = dockerfile_stages()
    users = [line.split(None, 1)[1].strip() for line in final if line.upper().startswith("USER ")]
    assert users, "the final stage sets no USER"
    user = users[-1].split(":", 1)[0]
    assert user not in ("root", "0"), f"runs as {users[-1]}"


def test_dockerfile_entrypoint_and_command() -> None:
    *_, (_, _, final) = dockerfile_stages()
    assert 'ENTRYPOINT ["tthc-monitor"]' in final
    assert 'CMD ["worker"]' in final
    # The image installs the wheel (what tests/integration/test_wheel.py tests) and the
    # locked, hash-checked runtime dependencies (what `make audit` checked).
    runs = [
        line for _, _, lines in dockerfile_stages() for line in lines if line.startswith("RUN ")
    ]
    assert any("pip wheel" in line and "--no-deps" in line for line in runs)
    assert any("--require-hashes" in line and "-r requirements.lock" in line for line in runs)
    assert any("/dist/tthc_monitor-*.whl" in line for line in runs)
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    assert not {"requirements.lock", "*.lock", "*"} & {line.strip() for line in ignored}
    assert (ROOT / "requirements.lock").is_file()


# ------------------------------------------------------------------ worker healthcheck --


def test_worker_healthcheck_probes_its_metrics_port(
    services: dict[str, dict[str, Any]],
) -> None:
    worker = services["worker"]
    env = environment(worker)
    assert env["TTHC_WORKER_METRICS_HOST"] == "0.0.0.0"  # reachable as 127.0.0.1 too
    test = worker["healthcheck"]["test"]
    # The image has Python but neither curl nor wget.
    assert test[:3] == ["CMD", "python", "-c"] and len(test) == 4
    assert "/metrics" in test[3] and "TTHC_WORKER_METRICS_PORT" in test[3]
    # The port Prometheus scrapes on every replica is the one probed.
    config_file = _container_to_host(services["prometheus"], "/etc/prometheus/prometheus.yml")
    jobs = yaml.safe_load(config_file.read_text(encoding="utf-8"))["scrape_configs"]
    (job,) = (j for j in jobs if j["job_name"] == "tthc-worker")
    assert job["dns_sd_configs"][0]["port"] == int(env["TTHC_WORKER_METRICS_PORT"])


def _run_probe(code: str, port: int) -> subprocess.CompletedProcess[str]:
    """The healthcheck's `python -c CODE`, with the container's metrics port variable."""
    env = {**os.environ, "TTHC_WORKER_METRICS_PORT": str(port)}
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=30
    )


def test_worker_healthcheck_command_against_a_real_metrics_server(
    services: dict[str, dict[str, Any]],
) -> None:
    """The probe passes against the worker's metrics server and fails once it is gone."""
    from prometheus_client import start_http_server

    from streams.worker_metrics import REGISTRY

    code = services["worker"]["healthcheck"]["test"][3]
    server, thread = start_http_server(0, addr=LOCALHOST, registry=REGISTRY)
    port = server.server_port
    try:
        up = _run_probe(code, port)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
    assert up.returncode == 0, up.stderr
    down = _run_probe(code, port)
    assert down.returncode != 0, "the probe passes with nothing listening"


# ------------------------------------------------------- the file through a real parser --

# Compose implementations that parse the file without a Docker engine. Every one that is
# installed must accept it; Debian's docker-compose (1.29) is the one this project relies
# on, the v2 plugin of the docker client is checked too when present.
PARSERS: dict[str, tuple[str, ...]] = {
    "docker-compose": ("docker-compose",),
    "docker compose": ("docker", "compose"),
}
INSTALL_HINT = "apt-get install docker-compose"
PROJECT = "tthc-monitor"
REQUIRED_VARIABLES = (
    "GRAFANA_ADMIN_PASSWORD",
    "REDIS_PASSWORD",
    "ONESTOP_DB_PASSWORD",
    "CDC_DB_PASSWORD",
)
EXPECTED_DEPENDS_ON = {
    "kafka": set(),
    "redis": set(),
    "worker": {"kafka", "redis"},
    "serve": {"redis"},
    "prometheus": {"serve"},
    "alertmanager": set(),
    "grafana": {"prometheus"},
    "onestop-db": set(),
    "connect": {"kafka", "onestop-db"},
    "translator": {"kafka", "connect"},
}
EXPECTED_PORTS = {
    "kafka": {(LOCALHOST, 29092, 29092)},
    "redis": {(LOCALHOST, 6379, 6379)},
    "worker": set(),
    "serve": {(LOCALHOST, 8080, 8080)},
    "prometheus": {(LOCALHOST, 9090, 9090)},
    "alertmanager": {(LOCALHOST, 9093, 9093)},
    "grafana": {(LOCALHOST, 3000, 3000)},
    "onestop-db": {(LOCALHOST, 15432, 5432)},
    "connect": {(LOCALHOST, 18083, 8083)},
    "translator": set(),
}


def compose_variables() -> set[str]:
    """The variables the compose file interpolates (`${NAME...}`, not `$${...}`)."""
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    return set(re.findall(r"(?<!\$)\$\{([A-Z_][A-Z0-9_]*)", text))


def compose_profiles() -> set[str]:
    document = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    return {p for s in document["services"].values() for p in s.get("profiles") or []}


def parser_env() -> dict[str, str]:
    """This process's environment without anything that would change the parse: the
    file's variables (the environment wins over --env-file), COMPOSE_*, and the Python
    variables of the virtualenv (docker-compose runs on Debian's Python)."""
    drop = compose_variables() | {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}
    return {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("COMPOSE_")}


@functools.cache
def compose_parsers() -> dict[str, tuple[str, ...]]:
    """name -> argv prefix of every Compose implementation that runs here."""
    found = {}
    for name, (program, *sub) in PARSERS.items():
        executable = shutil.which(program)
        if executable is None:
            continue
        probe = subprocess.run(
            [executable, *sub, "version"],
            capture_output=True,
            text=True,
            timeout=60,
            env=parser_env(),
            check=False,
        )
        if probe.returncode == 0:
            found[name] = (executable, *sub)
    return found


def require_parsers() -> dict[str, tuple[str, ...]]:
    parsers = compose_parsers()
    if not parsers:
        pytest.fail(
            "no Compose implementation to parse docker-compose.yml: neither `docker-compose`"
            f" nor `docker compose` runs here. Install Debian's: {INSTALL_HINT}"
        )
    return parsers


def run_config(argv: tuple[str, ...], env_file: Path) -> subprocess.CompletedProcess[str]:
    """`<parser> config` with every profile enabled and env_file as the .env."""
    command = [*argv, "--project-name", PROJECT, "--env-file", str(env_file)]
    command += ["--file", str(COMPOSE_FILE)]
    for profile in sorted(compose_profiles()):
        command += ["--profile", profile]
    return subprocess.run(
        [*command, "config"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=parser_env(),
        check=False,
    )


@functools.cache
def parsed_configs() -> dict[str, dict[str, Any]]:
    """parser name -> its resolved configuration, with .env.example as the .env."""
    parsed = {}
    for name, argv in require_parsers().items():
        result = run_config(argv, ENV_EXAMPLE)
        assert result.returncode == 0, f"`{name} config` rejects docker-compose.yml:\n" + (
            result.stderr or result.stdout
        )
        document = yaml.safe_load(result.stdout)
        assert isinstance(document, dict), f"`{name} config` printed no mapping"
        parsed[name] = document
    return parsed


def env_example_values() -> dict[str, str]:
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    return dict(re.findall(r"^([A-Z_][A-Z0-9_]*)=(.*)$", text, re.M))


def published_ports(service: dict[str, Any]) -> set[tuple[str, int, int]]:
    """(host ip, published port, container port) in either parser's output form:
    "127.0.0.1:8080:8080/tcp" (docker-compose 1.29) or a mapping (Compose v2)."""
    ports = set()
    for port in service.get("ports") or []:
        if isinstance(port, dict):
            ports.add((port.get("host_ip", ""), int(port["published"]), int(port["target"])))
            continue
        parts = str(port).split("/", 1)[0].split(":")
        assert len(parts) == 3, f"{port!r}: no host address"
        ports.add((parts[0], int(parts[1]), int(parts[2])))
    return ports


def test_a_compose_parser_is_installed() -> None:
    parsers = require_parsers()
    assert "docker-compose" in parsers or "docker compose" in parsers


def test_parsers_accept_the_file_with_every_service(compose: dict[str, Any]) -> None:
    for name, config in parsed_configs().items():
        assert set(config["services"]) == set(compose["services"]), name
        assert set(config["volumes"]) == set(compose["volumes"]), name


def test_parsed_healthchecks(services: dict[str, dict[str, Any]]) -> None:
    for name, config in parsed_configs().items():
        for service_name, service in config["services"].items():
            where = f"{name}: {service_name}"
            check = service.get("healthcheck")
            assert check, f"{where}: no healthcheck"
            assert not check.get("disable"), f"{where}: healthcheck disabled"
            assert check["test"][0] in ("CMD", "CMD-SHELL"), where
            for key in ("interval", "timeout", "retries", "start_period"):
                assert check.get(key), f"{where}: no {key}"
        worker = config["services"]["worker"]["healthcheck"]["test"]
        assert worker == services["worker"]["healthcheck"]["test"], name


def test_parsed_depends_on_waits_for_healthy_services() -> None:
    for name, config in parsed_configs().items():
        parsed = config["services"]
        depends = {s: set(parsed[s].get("depends_on") or {}) for s in parsed}
        assert depends == EXPECTED_DEPENDS_ON, name
        for service_name, service in parsed.items():
            for dependency, spec in (service.get("depends_on") or {}).items():
                assert spec["condition"] == "service_healthy", (name, service_name, dependency)
                assert parsed[dependency].get("healthcheck"), (name, dependency)


def test_parsed_ports_are_bound_to_localhost() -> None:
    for name, config in parsed_configs().items():
        ports = {s: published_ports(service) for s, service in config["services"].items()}
        assert ports == EXPECTED_PORTS, name
        for service_name, bound in ports.items():
            for host_ip, _, _ in bound:
                assert host_ip == LOCALHOST, (name, service_name, host_ip)


def test_parsed_environment_is_interpolated_from_env_example() -> None:
    example = env_example_values()
    assert set(REQUIRED_VARIABLES) <= set(example)
    for name, config in parsed_configs().items():
        parsed = config["services"]
        env = {s: environment(parsed[s]) for s in parsed}
        assert env["grafana"]["GF_SECURITY_ADMIN_PASSWORD"] == example["GRAFANA_ADMIN_PASSWORD"]
        assert env["grafana"]["GF_SECURITY_ADMIN_USER"] == example["GRAFANA_ADMIN_USER"]
        assert env["redis"]["REDIS_PASSWORD"] == example["REDIS_PASSWORD"], name
        for client in ("worker", "serve"):
            assert env[client]["TTHC_REDIS_PASSWORD"] == example["REDIS_PASSWORD"], name
        # Optional variables, unset in .env.example: the file's defaults.
        assert env["serve"]["TTHC_ADMIN_TOKEN"] == "", name
        webhook = env["alertmanager"]["ALERTMANAGER_WEBHOOK_URL"]
        assert webhook == "http://127.0.0.1:9/tthc-alerts", name
        assert env["worker"]["TTHC_WORKER_METRICS_PORT"] == "9100", name
        for service_name, values in env.items():
            for key, value in values.items():
                assert "${" not in value, (name, service_name, key, value)


def test_parsed_paths_resolve_inside_the_repository(
    services: dict[str, dict[str, Any]],
) -> None:
    expected = sum(len(bind_mounts(service)) for service in services.values())
    for name, config in parsed_configs().items():
        parsed = config["services"]
        for client in ("worker", "serve"):
            build = parsed[client]["build"]
            context = build["context"] if isinstance(build, dict) else build
            assert Path(context).resolve() == ROOT, (name, client, context)
        mounts = [(s, *m) for s, service in parsed.items() for m in bind_mounts(service)]
        assert len(mounts) == expected, (name, mounts)
        for service_name, host, container, read_only in mounts:
            path = Path(host)
            assert path.is_absolute(), (name, service_name, host)
            assert path.resolve().is_relative_to(ROOT), (name, service_name, host)
            assert path.exists(), (name, service_name, host)
            assert read_only, (name, service_name, container)


@pytest.mark.parametrize("variable", REQUIRED_VARIABLES)
def test_parsers_refuse_a_missing_required_variable(variable: str, tmp_path: Path) -> None:
    """The `${VAR:?message}` guards really stop the stack when .env lacks a password."""
    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    env_file = tmp_path / "env"
    env_file.write_text(
        "\n".join(line for line in lines if not line.startswith(f"{variable}=")) + "\n",
        encoding="utf-8",
    )
    for name, argv in require_parsers().items():
        result = run_config(argv, env_file)
        assert result.returncode != 0, f"`{name} config` accepts a .env without {variable}"
        assert f"set {variable} in .env" in result.stderr + result.stdout, result.stderr
