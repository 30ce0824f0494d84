"""envoy/envoy.yaml as Envoy would read it, and its agreement with the contract.

Envoy cannot run here, so its config is loaded into Envoy's own schema (xds-protos, in a
subprocess: see envoy_schema.py) with unknown fields rejected, and then checked against the
public services of protos/, the embedded gateway's routing table, the descriptor set that
compose.yaml mounts, and compose.yaml's services.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from google.api import annotations_pb2
from google.protobuf import descriptor_pb2

from services.contract.public_services import public_services
from services.gateway.backends import SERVICE_BACKENDS
from services.gateway.config import GatewayConfig
from tests.deploy.deployment_files import ENVOY_CONFIG, REPO_ROOT
from tests.deploy.envoy_schema import load_envoy_config

CONNECTION_MANAGER = "envoy.filters.network.http_connection_manager"
TRANSCODER = "envoy.filters.http.grpc_json_transcoder"
HTTP2_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"


def connection_manager(bootstrap: dict[str, Any]) -> dict[str, Any]:
    (listener,) = bootstrap["static_resources"]["listeners"]
    (chain,) = listener["filter_chains"]
    (manager,) = [f["typed_config"] for f in chain["filters"] if f["name"] == CONNECTION_MANAGER]
    return manager


def transcoder(bootstrap: dict[str, Any]) -> dict[str, Any]:
    filters = connection_manager(bootstrap)["http_filters"]
    (config,) = [f["typed_config"] for f in filters if f["name"] == TRANSCODER]
    return config


def routes(bootstrap: dict[str, Any]) -> list[dict[str, Any]]:
    hosts = connection_manager(bootstrap)["route_config"]["virtual_hosts"]
    return [route for host in hosts for route in host["routes"]]


def clusters(bootstrap: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {cluster["name"]: cluster for cluster in bootstrap["static_resources"]["clusters"]}


def public_service_names() -> set[str]:
    return {service.full_name for service in public_services()}


def mounted_source(compose: dict[str, Any], service: str, target: str) -> Path:
    """The repository file that compose.yaml mounts at `target` in `service`."""
    for volume in compose["services"][service].get("volumes", []):
        source, mount_target, *_ = volume.split(":")
        if mount_target == target:
            return (REPO_ROOT / source).resolve()
    raise AssertionError(f"compose.yaml mounts nothing at {target} in {service}")


def test_config_loads_into_envoys_schema(envoy_bootstrap: dict[str, Any]) -> None:
    (listener,) = envoy_bootstrap["static_resources"]["listeners"]
    assert listener["address"]["socket_address"]["port_value"] == 5115
    # HTTP/1.1 (REST) and HTTP/2 (gRPC) on the one listener.
    assert connection_manager(envoy_bootstrap).get("codec_type", "AUTO") == "AUTO"


@pytest.mark.parametrize(
    ("misspelt", "where"),
    [
        (("static_resources", "static_resource"), "at the top level"),
        (("print_options", "print_option"), "inside the transcoder's typed_config"),
    ],
)
def test_schema_check_rejects_unknown_fields(
    tmp_path: Path, xds_protos_dir: Path, misspelt: tuple[str, str], where: str
) -> None:
    """The check is only worth something if a typo fails it, wherever the typo is."""
    right, wrong = misspelt
    broken = tmp_path / "envoy.yaml"
    broken.write_text(ENVOY_CONFIG.read_text().replace(f"{right}:", f"{wrong}:", 1))
    result = load_envoy_config(broken, xds_protos_dir)
    assert result.returncode == 1, f"a misspelt field {where} was accepted"
    assert wrong in result.stderr


def test_transcoder_serves_every_public_service(envoy_bootstrap: dict[str, Any]) -> None:
    assert set(transcoder(envoy_bootstrap)["services"]) == public_service_names()


def test_transcoder_prints_json_by_the_contracts_rules(envoy_bootstrap: dict[str, Any]) -> None:
    """DESIGN.md section 2; proto JSON leaves out false values, hence the .get defaults."""
    config = transcoder(envoy_bootstrap)
    options = config["print_options"]
    assert options.get("add_whitespace", False) is False
    assert options["always_print_primitive_fields"] is True
    assert options.get("always_print_enums_as_ints", False) is False
    assert options["preserve_proto_field_names"] is True
    # Server-streaming responses as server-sent events, as the embedded gateway sends them.
    assert not options.get("stream_newline_delimited", False)
    assert options["stream_sse_style_delimited"] is True
    assert GatewayConfig.stream_sse_style_delimited is True
    assert config["convert_grpc_status"] is True
    assert config["request_validation_options"] == {
        "reject_unknown_method": True,
        "reject_unknown_query_parameters": True,
    }


def test_every_route_goes_to_a_cluster_that_exists(envoy_bootstrap: dict[str, Any]) -> None:
    defined = clusters(envoy_bootstrap).keys()
    for route in routes(envoy_bootstrap):
        assert route["route"]["cluster"] in defined, route


def test_every_public_service_is_routed_to_its_backend(envoy_bootstrap: dict[str, Any]) -> None:
    """Envoy sends each service to the process the embedded gateway sends it to; nothing
    else is routed, so internal services stay unreachable from outside."""
    routed = {}
    streaming = {
        f"/{service.full_name}/{method.name}": service.full_name
        for service in public_services()
        for method in service.methods
        if method.server_streaming
    }
    for route in routes(envoy_bootstrap):
        if "path" in route["match"]:
            # A server-streaming method's own route (longer timeouts), to its service's backend.
            path = route["match"]["path"]
            assert path in streaming, f"a method route for a method that does not stream: {path}"
            assert route["route"]["cluster"] == SERVICE_BACKENDS[streaming.pop(path)].value, path
            continue
        prefix = route["match"]["prefix"]
        assert prefix.startswith("/") and prefix.endswith("/"), f"not a gRPC service prefix: {prefix}"
        routed[prefix.strip("/")] = route["route"]["cluster"]
    assert routed == {name: SERVICE_BACKENDS[name].value for name in public_service_names()}
    assert not streaming, f"server-streaming methods without their own route: {sorted(streaming)}"


def test_backends_are_health_checked_over_http2(envoy_bootstrap: dict[str, Any]) -> None:
    for name, cluster in clusters(envoy_bootstrap).items():
        options = cluster["typed_extension_protocol_options"][HTTP2_OPTIONS]
        assert "http2_protocol_options" in options["explicit_http_config"], name
        (check,) = cluster["health_checks"]
        served_here = {s for s, backend in SERVICE_BACKENDS.items() if backend.value == name}
        assert check["grpc_health_check"]["service_name"] in served_here, name


def test_clusters_reach_the_compose_services(
    envoy_bootstrap: dict[str, Any], compose: dict[str, Any]
) -> None:
    """Each cluster's endpoint is a compose service listening on that port."""
    for name, cluster in clusters(envoy_bootstrap).items():
        endpoints = cluster["load_assignment"]["endpoints"]
        (address,) = [
            e["endpoint"]["address"]["socket_address"] for ep in endpoints for e in ep["lb_endpoints"]
        ]
        command = compose["services"][address["address"]]["command"]
        assert command[command.index("--port") + 1] == str(address["port_value"]), name
        assert command[command.index("--host") + 1] == "0.0.0.0", name


def test_compose_mounts_the_config_envoy_reads(compose: dict[str, Any]) -> None:
    command = compose["services"]["envoy"]["command"]
    config_path = command[command.index("--config-path") + 1]
    assert mounted_source(compose, "envoy", config_path) == ENVOY_CONFIG


def test_descriptor_set_holds_every_public_service_with_its_http_rules(
    envoy_bootstrap: dict[str, Any], compose: dict[str, Any]
) -> None:
    """The descriptor file Envoy is given exists and carries the same services and HTTP rules
    as the generated code the embedded gateway reads (`scripts/build-descriptor-set --check`
    in CI compares every byte; this says what is missing when they drift)."""
    descriptor_file = mounted_source(compose, "envoy", transcoder(envoy_bootstrap)["proto_descriptor"])
    assert descriptor_file.is_file(), f"{descriptor_file} is missing: run scripts/build-descriptor-set"
    descriptor_set = descriptor_pb2.FileDescriptorSet.FromString(descriptor_file.read_bytes())
    package_of = {file.name: file.package for file in descriptor_set.file}
    in_set = {
        f"{package_of[file.name]}.{service.name}": service
        for file in descriptor_set.file
        for service in file.service
    }
    for expected in public_services():
        assert expected.full_name in in_set, f"{descriptor_file.name} lacks {expected.full_name}"
        methods = {method.name: method for method in in_set[expected.full_name].method}
        for method in expected.methods:
            assert method.name in methods, f"{descriptor_file.name} lacks {method.full_name}"
            rule = methods[method.name].options.Extensions[annotations_pb2.http]
            assert rule == method.GetOptions().Extensions[annotations_pb2.http], method.full_name
