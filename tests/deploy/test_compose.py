"""compose.yaml: valid Compose, and consistent with the `weir` CLI, the image and itself.

Docker cannot run here, so the file is validated against the Compose Specification's JSON
schema (vendored, see README.md here), its Weir commands are parsed by the real CLI parser,
and its health probe is run against a real gRPC health server on loopback.
"""

from __future__ import annotations

import copy
import itertools
import json
import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import jsonschema
import pytest
import yaml
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from services.cli import build_parser
from services.security.api_tokens import token_sha256_hex
from services.security.process_security import (
    PUBLIC_COMMANDS,
    ProcessSecurity,
    RefusedToStart,
    security_from_args,
)
from tests.deploy.deployment_files import COMPOSE_FILE, COMPOSE_SCHEMA, DOCKERFILE, REPO_ROOT

COMPOSE = yaml.safe_load(COMPOSE_FILE.read_text())
WEIR_IMAGE = COMPOSE["x-weir"]["image"]
WEIR_SERVICES = sorted(
    name for name, service in COMPOSE["services"].items() if service.get("image") == WEIR_IMAGE
)
WORKER_SERVICES = [name for name in WEIR_SERVICES if COMPOSE["services"][name]["command"][0] == "worker"]
PROBE_TIMEOUT_S = 20


def option(command: list[str], flag: str) -> str:
    return command[command.index(flag) + 1]


def schema_errors(document: dict[str, Any]) -> list[str]:
    schema = json.loads(COMPOSE_SCHEMA.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def test_compose_file_follows_the_compose_specification() -> None:
    assert schema_errors(COMPOSE) == []


def test_schema_check_rejects_a_misspelt_key() -> None:
    """The schema is strict: a typo in a service fails it instead of being ignored."""
    broken = copy.deepcopy(COMPOSE)
    broken["services"]["controller"]["healthchek"] = broken["services"]["controller"].pop("healthcheck")
    assert any("healthchek" in error for error in schema_errors(broken))


def test_the_production_shape_is_all_there() -> None:
    commands = sorted(COMPOSE["services"][name]["command"][0] for name in WEIR_SERVICES)
    assert commands == ["controller", "metrics", "worker", "worker"]
    assert {"postgres", "envoy"} <= COMPOSE["services"].keys()
    assert COMPOSE["x-weir"]["build"] == "."
    assert DOCKERFILE.is_file()


@pytest.mark.parametrize("service", WEIR_SERVICES)
def test_weir_command_parses_with_the_cli(service: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Every flag compose.yaml passes exists, so no container dies on a usage error."""
    command = COMPOSE["services"][service]["command"]
    try:
        build_parser().parse_args(command)
    except SystemExit:
        pytest.fail(f"`weir {' '.join(command)}` is refused:\n{capsys.readouterr().err}")


def test_services_listen_beyond_loopback_on_fixed_ports() -> None:
    """Other containers reach them by service name, so each listens on every interface."""
    for name in WEIR_SERVICES:
        command = COMPOSE["services"][name]["command"]
        assert option(command, "--host") == "0.0.0.0", name
        assert int(option(command, "--port")) > 0, name


def test_peer_addresses_name_services_on_their_ports() -> None:
    services = COMPOSE["services"]
    for name in WEIR_SERVICES:
        command = services[name]["command"]
        for flag in ("--controller", "--metrics"):
            if flag not in command:
                continue
            host, port = option(command, flag).split(":")
            assert services[host]["command"][0] == flag.removeprefix("--"), (name, flag)
            assert option(services[host]["command"], "--port") == port, (name, flag)
    for name in WORKER_SERVICES:
        # The controller dials a worker at the host it advertises: its name on the network.
        assert option(services[name]["command"], "--advertise-host") == name


SECRETS_DIR = "/run/secrets/"
# `${NAME:?message}`: compose stops with `message` while NAME is unset or empty.
REQUIRED_VARIABLE = re.compile(r"\$\{(?P<name>[A-Z0-9_]+):\?(?P<message>[^}]+)\}")


def secret_paths(command: list[str]) -> dict[str, str]:
    """flag -> the compose secret it names, for each flag given a file under /run/secrets."""
    return {
        flag: value.removeprefix(SECRETS_DIR)
        for flag, value in itertools.pairwise(command)
        if value.startswith(SECRETS_DIR)
    }


def service_secrets(name: str) -> list[str]:
    """The secrets `name` mounts, its own list or the one x-weir gives every Weir service."""
    service = COMPOSE["services"][name]
    return list(service.get("secrets", COMPOSE["x-weir"].get("secrets", [])))


def test_secrets_come_from_files_the_operator_names() -> None:
    """No secret value is committed: each compose secret is a file named by a variable that
    compose insists on, with a message that says what to set."""
    assert set(COMPOSE["secrets"]) == {"cluster_secret", "api_tokens"}
    for name, secret in COMPOSE["secrets"].items():
        assert set(secret) == {"file"}, name
        required = REQUIRED_VARIABLE.fullmatch(secret["file"])
        assert required is not None, f"secret {name} must be `file: ${{VARIABLE:?message}}`"
        assert required["name"] in required["message"], name


def test_the_store_password_is_required_and_never_on_a_command_line() -> None:
    services = COMPOSE["services"]
    password = services["postgres"]["environment"]["POSTGRES_PASSWORD"]
    required = REQUIRED_VARIABLE.fullmatch(password)
    assert required is not None and required["name"] == "WEIR_POSTGRES_PASSWORD"
    for name in WEIR_SERVICES:
        command = services[name]["command"]
        assert not any("PASSWORD" in argument for argument in command), name
        if "--database-url" in command:
            # libpq takes the password from PGPASSWORD, so the URL carries none.
            assert "@" in option(command, "--database-url")
            assert ":" not in option(command, "--database-url").split("//")[1].split("@")[0], name
            assert services[name]["environment"]["PGPASSWORD"] == password, name


def test_nothing_secret_has_a_default() -> None:
    """`${VAR:-default}` would quietly run with a value everyone can read in this file."""
    text = COMPOSE_FILE.read_text()
    defaults = re.findall(r"\$\{([A-Z0-9_]+):?-", text)
    assert not [name for name in defaults if re.search("PASSWORD|SECRET|TOKEN", name)], defaults


def test_every_secret_a_command_reads_is_mounted() -> None:
    for name in WEIR_SERVICES:
        used = set(secret_paths(COMPOSE["services"][name]["command"]).values())
        assert used <= set(service_secrets(name)), name
        assert used <= set(COMPOSE["secrets"]), name


@pytest.fixture
def secret_files(tmp_path: Path) -> dict[str, Path]:
    """Stand-ins for the files compose mounts, in the formats docs/deploy.md tells users to write."""
    cluster_secret, api_tokens = tmp_path / "cluster_secret", tmp_path / "api_tokens"
    cluster_secret.write_text(secrets.token_urlsafe(32) + "\n")
    api_tokens.write_text(f"admin {token_sha256_hex(secrets.token_urlsafe(32))} ops\n")
    return {"cluster_secret": cluster_secret, "api_tokens": api_tokens}


def container_security(
    name: str, secret_files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> ProcessSecurity:
    """What the real CLI makes of `name`'s command, with its secrets at local paths and no
    WEIR_* variables from the test's own environment."""
    for variable in [v for v in os.environ if v.startswith("WEIR_")]:
        monkeypatch.delenv(variable)
    command = [
        str(secret_files[a.removeprefix(SECRETS_DIR)]) if a.startswith(SECRETS_DIR) else a
        for a in COMPOSE["services"][name]["command"]
    ]
    return security_from_args(build_parser().parse_args(command))


@pytest.mark.parametrize("service", WEIR_SERVICES)
def test_every_weir_service_starts_secured_without_insecure(
    service: str, secret_files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """They listen on 0.0.0.0, so the CLI refuses to start them without credentials: each
    must have what its role needs, and none may opt out with --insecure."""
    assert "--insecure" not in COMPOSE["services"][service]["command"]
    security = container_security(service, secret_files, monkeypatch)
    assert security.cluster_secret is not None, service
    if COMPOSE["services"][service]["command"][0] in PUBLIC_COMMANDS:
        # Envoy only forwards the bearer token: the backends it routes to check it.
        assert security.api_tokens is not None, service
    assert security.cluster_secret.value == secret_files["cluster_secret"].read_text().strip()


def test_the_cli_would_refuse_a_service_without_its_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check above can fail: stripped of its secret flags, the controller is refused."""
    for variable in [v for v in os.environ if v.startswith("WEIR_")]:
        monkeypatch.delenv(variable)
    command = COMPOSE["services"]["controller"]["command"]
    flags = secret_paths(command)
    bare = [a for i, a in enumerate(command) if a not in flags and (i == 0 or command[i - 1] not in flags)]
    with pytest.raises(RefusedToStart, match=r"refusing to listen on 0\.0\.0\.0"):
        security_from_args(build_parser().parse_args(bare))


def test_dependencies_exist_and_wait_for_health() -> None:
    services = COMPOSE["services"]
    for name, service in services.items():
        for dependency, condition in service.get("depends_on", {}).items():
            assert dependency in services, (name, dependency)
            assert condition["condition"] == "service_healthy", (name, dependency)
            assert "healthcheck" in services[dependency], (name, dependency)


def test_every_service_has_a_healthcheck() -> None:
    for name, service in COMPOSE["services"].items():
        assert service["healthcheck"]["test"][0] == "CMD", name


def test_named_volumes_are_declared() -> None:
    for name, service in COMPOSE["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith((".", "/")):
                assert source in COMPOSE["volumes"], (name, source)


def test_store_and_checkpoints_are_on_volumes() -> None:
    services = COMPOSE["services"]
    assert "store:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    controller = services["controller"]["command"]
    assert option(controller, "--database-url").startswith("postgresql+psycopg://")
    checkpoint_dir = option(controller, "--checkpoint-url").removeprefix("file://")
    # The controller records where workers wrote: all must see the same volume there.
    for name in ["controller", *WORKER_SERVICES]:
        assert f"checkpoints:{checkpoint_dir}" in services[name]["volumes"], name


def test_image_is_built_from_files_the_build_context_lets_in() -> None:
    """Every COPY source exists and is allowed in by .dockerignore's allow-list."""
    allowed = {
        line.removeprefix("!").rstrip("/")
        for line in (REPO_ROOT / ".dockerignore").read_text().splitlines()
        if line.startswith("!")
    }
    copied = [
        source.rstrip("/")
        for line in DOCKERFILE.read_text().splitlines()
        if line.startswith("COPY ")
        for source in line.split()[1:-1]
    ]
    assert copied
    for source in copied:
        assert (REPO_ROOT / source).exists(), source
        assert source in allowed, f"{source} is copied but .dockerignore keeps it out"


class HealthServer:
    """A real grpc.health.v1 server on loopback, with services set to a given status."""

    def __init__(self, statuses: dict[str, health_pb2.HealthCheckResponse.ServingStatus.ValueType]) -> None:
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        servicer = health.HealthServicer()
        for service, status in statuses.items():
            servicer.set(service, status)
        health_pb2_grpc.add_HealthServicer_to_server(servicer, self.server)
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()

    def stop(self) -> None:
        self.server.stop(grace=None)


@pytest.fixture
def health_server() -> Iterator[HealthServer]:
    server = HealthServer(
        {
            "weir.v1.JobService": health_pb2.HealthCheckResponse.SERVING,
            "weir.v1.JobMetricsService": health_pb2.HealthCheckResponse.NOT_SERVING,
        }
    )
    yield server
    server.stop()


def run_probe(service: str, address: str) -> subprocess.CompletedProcess[str]:
    """`service`'s healthcheck from compose.yaml, run here against `address` instead."""
    test = COMPOSE["services"][service]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"], test
    code, _, *args = test[3:]
    command = [sys.executable, "-c", code, address, *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=PROBE_TIMEOUT_S)


def test_health_probe_passes_when_the_service_is_serving(health_server: HealthServer) -> None:
    result = run_probe("controller", f"127.0.0.1:{health_server.port}")
    assert result.returncode == 0, result.stderr


def test_health_probe_fails_when_the_service_is_not_serving(health_server: HealthServer) -> None:
    result = run_probe("metrics", f"127.0.0.1:{health_server.port}")
    assert result.returncode != 0


def test_health_probe_fails_when_nothing_listens(health_server: HealthServer) -> None:
    address = f"127.0.0.1:{health_server.port}"
    health_server.stop()
    result = run_probe("controller", address)
    assert result.returncode != 0
