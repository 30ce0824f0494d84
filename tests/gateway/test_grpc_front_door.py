"""The gateway's native gRPC port: public services forwarded to their backends unchanged,
internal ones unreachable, health and reflection describing only the public surface."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import status_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from services.contract.public_services import public_services
from tests.gateway.conftest import GatewayUnderTest
from tests.gateway.fake_backends import JOB_ID, MISSING_WITH_DETAILS, SLOW_JOB_ID, sample_job
from weir.v1 import jobs_pb2, jobs_pb2_grpc, metrics_pb2, metrics_pb2_grpc

RPC_TIMEOUT_S = 10.0


def test_unary_call_is_forwarded_with_metadata_both_ways(gateway: GatewayUnderTest) -> None:
    with grpc.insecure_channel(gateway.grpc_address) as channel:
        job, call = jobs_pb2_grpc.JobServiceStub(channel).GetJob.with_call(
            jobs_pb2.GetJobRequest(job_id=JOB_ID),
            metadata=[("authorization", "Bearer t0ken"), ("x-tenant", "acme")],
            timeout=RPC_TIMEOUT_S,
        )

    assert job == sample_job()
    assert ("x-served-by", "fake-controller") in call.initial_metadata()
    received = gateway.controller.metadata[-1]
    assert received["authorization"] == "Bearer t0ken" and received["x-tenant"] == "acme"


def test_errors_keep_code_message_and_rich_details(gateway: GatewayUnderTest) -> None:
    with grpc.insecure_channel(gateway.grpc_address) as channel:
        stub = jobs_pb2_grpc.JobServiceStub(channel)
        with pytest.raises(grpc.RpcError) as raised:
            stub.GetJob(jobs_pb2.GetJobRequest(job_id=MISSING_WITH_DETAILS), timeout=RPC_TIMEOUT_S)

    error = raised.value
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert error.details() == f"job {MISSING_WITH_DETAILS} not found"
    details = dict(error.trailing_metadata())["grpc-status-details-bin"]
    assert status_pb2.Status.FromString(details).details[0].type_url.endswith("google.rpc.ErrorInfo")


def test_caller_deadline_is_propagated(gateway: GatewayUnderTest) -> None:
    with grpc.insecure_channel(gateway.grpc_address) as channel:
        stub = jobs_pb2_grpc.JobServiceStub(channel)
        with pytest.raises(grpc.RpcError) as raised:
            stub.GetJob(jobs_pb2.GetJobRequest(job_id=SLOW_JOB_ID), timeout=0.5)
    assert raised.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED


def test_internal_and_unknown_methods_are_unimplemented(gateway: GatewayUnderTest) -> None:
    with grpc.insecure_channel(gateway.grpc_address) as channel:
        for method in (
            "/weir.v1.WorkerService/StartTasks",
            "/weir.v1.ControlPlaneService/RegisterWorker",
            "/weir.v1.TelemetryService/Report",
            "/weir.v1.JobService/DropAllJobs",
        ):
            with pytest.raises(grpc.RpcError) as raised:
                channel.unary_unary(method)(b"", timeout=RPC_TIMEOUT_S)
            assert raised.value.code() == grpc.StatusCode.UNIMPLEMENTED, method


def test_reflection_and_health_describe_the_public_services(gateway: GatewayUnderTest) -> None:
    public = {service.full_name for service in public_services()}
    with grpc.insecure_channel(gateway.grpc_address) as channel:
        listed = set(ProtoReflectionDescriptorDatabase(channel).get_services())
        health = health_pb2_grpc.HealthStub(channel)
        statuses = {
            name: health.Check(health_pb2.HealthCheckRequest(service=name), timeout=RPC_TIMEOUT_S).status
            for name in ("", *public)
        }

    assert public <= listed
    assert not {name for name in listed if name.startswith("weir.v1.")} - public
    assert set(statuses.values()) == {health_pb2.HealthCheckResponse.SERVING}


def test_backend_down_is_unavailable(degraded_gateway: GatewayUnderTest) -> None:
    with (
        grpc.insecure_channel(degraded_gateway.grpc_address) as channel,
        pytest.raises(grpc.RpcError) as raised,
    ):
        metrics_pb2_grpc.JobMetricsServiceStub(channel).GetJobMetrics(
            metrics_pb2.GetJobMetricsRequest(job_id=JOB_ID), timeout=RPC_TIMEOUT_S
        )
    assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
