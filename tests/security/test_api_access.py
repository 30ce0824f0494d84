"""API tokens against a real `weir up`: REST through the gateway, gRPC through the front
door, and gRPC straight to the controller (the backends enforce, not only the gateway)."""

from __future__ import annotations

import secrets

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.conftest import wait_for
from tests.security.conftest import SecuredPlatform, write_tokens
from weir.v1 import jobs_pb2, jobs_pb2_grpc, pipelines_pb2, pipelines_pb2_grpc

UNKNOWN_JOB = "job_01ARZ3NDEKTSV4RRFFQ69G5FAV"
UNKNOWN_PIPELINE = "pipe_01ARZ3NDEKTSV4RRFFQ69G5FAV"
VALID_QUERY = (
    "CREATE TABLE impulse WITH (connector = 'impulse', event_rate = '10');\nSELECT counter FROM impulse"
)


def rest_status(
    secured: SecuredPlatform, token: str | None, method: str, path: str, body: object = None
) -> int:
    with secured.client(token) as client:
        response = client.request(method, path, json=body)
    if response.status_code in (401, 403):
        # The same google.rpc.Status JSON body as every other error.
        assert response.json()["code"] == (16 if response.status_code == 401 else 7), response.text
    return response.status_code


# Read endpoints of both backends (controller and metrics), then writes.
READS = [
    ("GET", "/api/v1/jobs", None, 200),
    ("GET", "/api/v1/pipelines", None, 200),
    ("GET", "/api/v1/workers", None, 200),
    ("GET", f"/api/v1/jobs/{UNKNOWN_JOB}", None, 404),
    ("GET", f"/api/v1/jobs/{UNKNOWN_JOB}/metrics", None, 404),
    ("GET", f"/api/v1/jobs/{UNKNOWN_JOB}/errors", None, 404),
]
WRITES = [
    ("POST", "/api/v1/pipelines/validate", {"query": VALID_QUERY}, 200),
    ("POST", f"/api/v1/jobs/{UNKNOWN_JOB}/stop", {"mode": "immediate"}, 404),
    ("POST", f"/api/v1/jobs/{UNKNOWN_JOB}/restart", {}, 404),
    ("DELETE", f"/api/v1/pipelines/{UNKNOWN_PIPELINE}", None, 404),
    ("POST", "/api/v1/pipelines", {"name": "x", "query": "SELEC 1"}, 400),
]


@pytest.mark.parametrize(("method", "path", "body", "authorized"), READS + WRITES)
def test_rest_without_a_token_or_with_a_bad_one_is_401(
    secured: SecuredPlatform, method: str, path: str, body: object, authorized: int
) -> None:
    assert rest_status(secured, None, method, path, body) == 401
    assert rest_status(secured, secrets.token_urlsafe(32), method, path, body) == 401


@pytest.mark.parametrize(("method", "path", "body", "authorized"), READS)
def test_rest_reads_need_a_read_token(
    secured: SecuredPlatform, method: str, path: str, body: object, authorized: int
) -> None:
    assert rest_status(secured, secured.read_token, method, path, body) == authorized
    assert rest_status(secured, secured.admin_token, method, path, body) == authorized


@pytest.mark.parametrize(("method", "path", "body", "authorized"), WRITES)
def test_rest_writes_need_an_admin_token(
    secured: SecuredPlatform, method: str, path: str, body: object, authorized: int
) -> None:
    assert rest_status(secured, secured.read_token, method, path, body) == 403
    assert rest_status(secured, secured.admin_token, method, path, body) == authorized


def test_other_authorization_schemes_are_401(secured: SecuredPlatform) -> None:
    with secured.client(None) as client:
        basic = client.get("/api/v1/jobs", headers={"Authorization": f"Basic {secured.admin_token}"})
        bare = client.get("/api/v1/jobs", headers={"Authorization": secured.admin_token})
        scheme_only = client.get("/api/v1/jobs", headers={"Authorization": "Bearer"})
        lowercase = client.get("/api/v1/jobs", headers={"Authorization": f"bearer {secured.read_token}"})
    assert (basic.status_code, bare.status_code, scheme_only.status_code) == (401, 401, 401)
    assert lowercase.status_code == 200  # the scheme is case-insensitive (RFC 9110)


@pytest.mark.parametrize("route", ["front door", "controller"])
def test_grpc_tokens(secured: SecuredPlatform, route: str) -> None:
    address = secured.grpc_address if route == "front door" else secured.internal_address("controller")
    with grpc.insecure_channel(address) as channel:
        jobs = jobs_pb2_grpc.JobServiceStub(channel)
        pipelines = pipelines_pb2_grpc.PipelineServiceStub(channel)
        read = (("authorization", f"Bearer {secured.read_token}"),)
        admin = (("authorization", f"Bearer {secured.admin_token}"),)

        for metadata in ((), (("authorization", "Bearer not-a-token"),)):
            with pytest.raises(grpc.RpcError) as refused:
                jobs.ListJobs(jobs_pb2.ListJobsRequest(), metadata=metadata, timeout=10)
            assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED

        jobs.ListJobs(jobs_pb2.ListJobsRequest(), metadata=read, timeout=10)
        validate = pipelines_pb2.ValidatePipelineRequest(query=VALID_QUERY)
        with pytest.raises(grpc.RpcError) as denied:
            pipelines.ValidatePipeline(validate, metadata=read, timeout=10)
        assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
        pipelines.ValidatePipeline(validate, metadata=admin, timeout=10)


def test_health_checks_stay_open(secured: SecuredPlatform) -> None:
    for address in (
        secured.grpc_address,
        secured.internal_address("controller"),
        secured.internal_address("metrics"),
    ):
        with grpc.insecure_channel(address) as channel:
            health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
        assert health.status == health_pb2.HealthCheckResponse.SERVING


def test_rotating_the_tokens_file_takes_effect_without_a_restart(secured: SecuredPlatform) -> None:
    """Both backends (controller and metrics) pick up a rewritten file on their own."""
    pid_before = secured.running.process.pid
    fresh = secrets.token_urlsafe(32)
    endpoints = ["/api/v1/jobs", f"/api/v1/jobs/{UNKNOWN_JOB}/metrics"]
    kept = {secured.read_token: "read", secured.admin_token: "admin"}

    write_tokens(secured.tokens_file, {**kept, fresh: "admin"})
    for path in endpoints:
        wait_for(
            lambda p=path: rest_status(secured, fresh, "GET", p) != 401, timeout_s=10, what="the new token"
        )

    write_tokens(secured.tokens_file, kept)  # revoke it again
    for path in endpoints:
        wait_for(lambda p=path: rest_status(secured, fresh, "GET", p) == 401, timeout_s=10, what="revocation")
    assert rest_status(secured, secured.read_token, "GET", "/api/v1/jobs") == 200
    assert secured.running.process.pid == pid_before and secured.running.process.poll() is None
