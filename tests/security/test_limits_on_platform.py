"""Bounds of a real `weir up` (the package's `secured` platform) that had no test: the REST body
bound whatever the framing or encoding, the HTTP request line bound, the gRPC message bound on
the processes behind the gateway, and the internal plane's own input checks for a caller that
does hold the cluster secret."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest

from services.controller.api.control_plane import MAX_SLOTS
from services.gateway.config import DEFAULT_MAX_REQUEST_BYTES
from services.security.cluster_secret import ENV_VAR, METADATA_KEY
from services.serving import MAX_MESSAGE_BYTES
from tests.security.conftest import SecuredPlatform
from weir.v1 import (
    control_plane_pb2,
    control_plane_pb2_grpc,
    metrics_pb2,
    metrics_pb2_grpc,
    pipelines_pb2,
    pipelines_pb2_grpc,
)

# aiohttp's bound on the request line and on each header line (its `max_line_size` default).
MAX_HTTP_LINE_BYTES = 8190


def oversized_body() -> bytes:
    return json.dumps({"query": "x" * (DEFAULT_MAX_REQUEST_BYTES + 1)}).encode()


@pytest.fixture
def admin_client(secured: SecuredPlatform) -> Iterator[httpx.Client]:
    """An admin client; the refused requests must leave the pipelines as they were."""
    with secured.client(secured.admin_token) as client:
        before = client.get("/api/v1/pipelines").json()["data"]
        yield client
        assert client.get("/api/v1/pipelines").json()["data"] == before


def test_a_chunked_body_cannot_bypass_the_body_bound(admin_client: httpx.Client) -> None:
    """No Content-Length to refuse up front: the bound applies while the body is read."""
    body = oversized_body()

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    response = admin_client.post(
        "/api/v1/pipelines/validate", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413, response.text[:300]
    assert response.json()["code"] == grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]


def test_a_compressed_body_is_bounded_after_decompression(admin_client: httpx.Client) -> None:
    """A few KiB of gzip that inflate past the bound are refused, not inflated in memory."""
    compressed = gzip.compress(oversized_body())
    assert len(compressed) < DEFAULT_MAX_REQUEST_BYTES // 100
    response = admin_client.post(
        "/api/v1/pipelines/validate",
        content=compressed,
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert response.status_code == 413, response.text[:300]


def test_an_oversized_request_line_is_a_400(secured: SecuredPlatform) -> None:
    with secured.client(secured.read_token) as client:
        response = client.get("/api/v1/jobs", params={"pipeline_id": "p" * (MAX_HTTP_LINE_BYTES + 1)})
    # aiohttp's own plain-text 400, before routing: never a 5xx, never a backend call.
    assert response.status_code == 400, response.text[:200]


@pytest.mark.parametrize("child", ["controller", "metrics"])
def test_grpc_messages_are_bounded_behind_the_gateway_too(secured: SecuredPlatform, child: str) -> None:
    """The front door's bound (test_bounded_input.py) holds on every Weir server: each is made by
    serving.start_server with the same options."""
    admin = (("authorization", f"Bearer {secured.admin_token}"),)
    huge = "x" * (MAX_MESSAGE_BYTES + 1)
    options = [("grpc.max_send_message_length", 2 * MAX_MESSAGE_BYTES)]
    with (
        grpc.insecure_channel(secured.internal_address(child), options=options) as channel,
        pytest.raises(grpc.RpcError) as refused,
    ):
        if child == "controller":
            pipelines_pb2_grpc.PipelineServiceStub(channel).ValidatePipeline(
                pipelines_pb2.ValidatePipelineRequest(query=huge), metadata=admin, timeout=30
            )
        else:
            metrics_pb2_grpc.JobMetricsServiceStub(channel).GetJobMetrics(
                metrics_pb2.GetJobMetricsRequest(job_id=huge), metadata=admin, timeout=30
            )
    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def cluster_secret(secured: SecuredPlatform) -> str:
    """The secret `weir up` gave its children (the test reads it as their owner could)."""
    for pid in secured.running.child_pids():
        for entry in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
            if entry.startswith(ENV_VAR.encode() + b"="):
                return entry.split(b"=", 1)[1].decode()
    raise AssertionError("no child of weir up has the cluster secret")


@pytest.mark.parametrize(
    ("address", "slots", "message"),
    [
        ("127.0.0.1:1", 0, f"slots must be between 1 and {MAX_SLOTS}"),
        ("127.0.0.1:1", MAX_SLOTS + 1, f"slots must be between 1 and {MAX_SLOTS}"),
        ("no-port", 4, "host:port"),
        ("", 4, "host:port"),
    ],
)
def test_worker_registration_is_validated_even_with_the_secret(
    secured: SecuredPlatform, address: str, slots: int, message: str
) -> None:
    member = ((METADATA_KEY, cluster_secret(secured)),)
    with (
        grpc.insecure_channel(secured.internal_address("controller")) as channel,
        pytest.raises(grpc.RpcError) as refused,
    ):
        control_plane_pb2_grpc.ControlPlaneServiceStub(channel).RegisterWorker(
            control_plane_pb2.RegisterWorkerRequest(address=address, pid=1, slots=slots),
            metadata=member,
            timeout=10,
        )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in (refused.value.details() or "")
    with secured.client(secured.read_token) as client:
        workers = client.get("/api/v1/workers").json()["data"]
    assert [w["address"] for w in workers if w["address"] in (address, "127.0.0.1:1")] == []
