"""Static checks of docker-compose.yml and the Dockerfile (no Docker engine needed)."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from tthc_monitor.config import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
LOCALHOST = "127.0.0.1"
# Services that are allowed to run without a healthcheck (no endpoint to probe yet).
NO_HEALTHCHECK = {"worker"}


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
    }


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


def test_every_service_but_the_worker_has_a_healthcheck(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in services.items():
        if name in NO_HEALTHCHECK:
            continue
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
    # The image installs the locked versions (what `make audit` checked).
    assert any(
        line.startswith("RUN ") and "pip install --no-cache-dir -c requirements.lock ." in line
        for _, _, lines in dockerfile_stages()
        for line in lines
    )
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    assert not {"requirements.lock", "*.lock", "*"} & {line.strip() for line in ignored}
    assert (ROOT / "requirements.lock").is_file()


# ------------------------------------------------------------------ docker compose CLI --


def test_docker_compose_config_validates() -> None:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("docker client not installed")
    probe = subprocess.run(
        [docker, "compose", "version"], capture_output=True, text=True, timeout=30, check=False
    )
    if probe.returncode != 0:
        pytest.skip(f"docker compose unavailable: {(probe.stderr or probe.stdout).strip()}")
    # Grafana's admin password has no default: validate with the example .env when the
    # developer has not made one.
    env_file = ROOT / ".env" if (ROOT / ".env").exists() else ROOT / ".env.example"
    result = subprocess.run(
        [docker, "compose", "--env-file", str(env_file), "-f", str(COMPOSE_FILE), "config", "-q"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )
    if result.returncode != 0 and "daemon" in result.stderr.lower():
        pytest.skip(f"docker compose needs a daemon here: {result.stderr.strip()}")
    assert result.returncode == 0, result.stderr
