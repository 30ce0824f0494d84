"""Every process of the platform answers gRPC health checks and server reflection, so that
standard tooling (grpc_health_probe, grpcurl, Envoy's health checks) works against each one.

Addresses come from the port files `weir up` keeps under `<data dir>/run/`: one `host:port`
per service, and `host:http host:grpc` for the gateway, whose gRPC side is the front door.
"""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from google.protobuf import descriptor_pool
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from services.contract.public_services import public_services
from tests.conftest import RunningPlatform

PUBLIC = {service.full_name for service in public_services()}
# The services each process must serve (a process may serve more, e.g. a worker's shuffle).
EXPECTED_SERVICES = {
    "controller": {
        "weir.v1.JobService",
        "weir.v1.PipelineService",
        "weir.v1.CheckpointService",
        "weir.v1.ClusterService",
        "weir.v1.ControlPlaneService",
    },
    "metrics": {"weir.v1.JobMetricsService", "weir.v1.JobLogService", "weir.v1.TelemetryService"},
    "worker-0": {"weir.v1.WorkerService"},
    "worker-1": {"weir.v1.WorkerService"},
    "gateway": PUBLIC,
}
STANDARD = {"grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"}


def grpc_address(platform: RunningPlatform, process: str) -> str:
    words = (platform.data_dir / "run" / f"{process}.addr").read_text().split()
    return words[-1]  # the gateway's file has its REST address first, then gRPC


@pytest.fixture(params=sorted(EXPECTED_SERVICES))
def process(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def channel(interop_platform: RunningPlatform, process: str) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(grpc_address(interop_platform, process)) as channel:
        yield channel


def listed_services(channel: grpc.Channel) -> set[str]:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    [response] = list(stub.ServerReflectionInfo(iter([request]), timeout=10))
    return {service.name for service in response.list_services_response.service}


def test_reflection_lists_and_describes_the_services(process: str, channel: grpc.Channel) -> None:
    listed = listed_services(channel)
    assert EXPECTED_SERVICES[process] | STANDARD <= listed
    if process == "gateway":
        assert listed - STANDARD == PUBLIC, "the front door exposes exactly the public services"
    # The descriptors themselves, as grpcurl would fetch them, resolve with their methods.
    pool = descriptor_pool.DescriptorPool(ProtoReflectionDescriptorDatabase(channel))
    for name in EXPECTED_SERVICES[process]:
        assert pool.FindServiceByName(name).methods, name


def test_health_checks_say_serving(process: str, channel: grpc.Channel) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    for service in ["", *sorted(EXPECTED_SERVICES[process])]:
        status = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10).status
        assert status == health_pb2.HealthCheckResponse.SERVING, service or "the server"
    with pytest.raises(grpc.RpcError) as unknown:
        health.Check(health_pb2.HealthCheckRequest(service="weir.v1.NoSuchService"), timeout=10)
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
