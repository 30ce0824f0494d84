"""The REST API through the real gateway, against fake backends: routing, request binding,
JSON printing and error mapping, checked as an HTTP client sees them."""

from __future__ import annotations

import json
from typing import Any

import grpc
import httpx
import pytest

from tests.gateway.conftest import GatewayUnderTest
from tests.gateway.fake_backends import (
    CSV,
    FAIL_WITH_PREFIX,
    JOB_ID,
    MISSING_WITH_DETAILS,
    SAMPLE_JOB_JSON,
    SLOW_JOB_ID,
)
from weir.v1 import jobs_pb2, logs_pb2, metrics_pb2

# Envoy's grpc -> HTTP status mapping (Grpc::Utility::grpcToHttpStatus), written out again
# here so that the gateway's table is checked against an independent copy.
ENVOY_HTTP_STATUS = {
    "CANCELLED": 499,
    "UNKNOWN": 500,
    "INVALID_ARGUMENT": 400,
    "DEADLINE_EXCEEDED": 504,
    "NOT_FOUND": 404,
    "ALREADY_EXISTS": 409,
    "PERMISSION_DENIED": 403,
    "RESOURCE_EXHAUSTED": 429,
    "FAILED_PRECONDITION": 400,
    "ABORTED": 409,
    "OUT_OF_RANGE": 400,
    "UNIMPLEMENTED": 501,
    "INTERNAL": 500,
    "UNAVAILABLE": 503,
    "DATA_LOSS": 500,
    "UNAUTHENTICATED": 401,
}


def assert_status_body(response: httpx.Response, http_status: int, code: grpc.StatusCode) -> dict[str, Any]:
    """An error response: the HTTP status, JSON content, and a google.rpc.Status body."""
    assert response.status_code == http_status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"code", "message", "details"}
    assert body["code"] == code.value[0]
    assert isinstance(body["message"], str)
    return body


def test_get_routes_by_template_and_prints_the_spec_json(gateway: GatewayUnderTest) -> None:
    response = gateway.http.get(f"/api/v1/jobs/{JOB_ID}")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    # Byte for byte: snake_case, unset optionals as null, integral doubles without ".0",
    # fields with default values printed, compact.
    assert response.text == SAMPLE_JOB_JSON
    assert gateway.controller.last() == jobs_pb2.GetJobRequest(job_id=JOB_ID)
    # The backend's initial metadata comes back as headers, with Envoy's grpc-status.
    assert response.headers["x-served-by"] == "fake-controller"
    assert response.headers["grpc-status"] == "0"


def test_trailing_slash_and_percent_encoded_variables(gateway: GatewayUnderTest) -> None:
    assert gateway.http.get("/api/v1/jobs/").status_code == 200
    assert isinstance(gateway.controller.last(), jobs_pb2.ListJobsRequest)

    assert gateway.http.get("/api/v1/jobs/job%5F9876543210").status_code == 200
    assert gateway.controller.last() == jobs_pb2.GetJobRequest(job_id=JOB_ID)

    # Reserved characters stay encoded in path variables (Envoy's default unescape spec).
    response = gateway.http.get("/api/v1/jobs/a%2Fb%20c")
    assert_status_body(response, 404, grpc.StatusCode.NOT_FOUND)
    assert gateway.controller.last() == jobs_pb2.GetJobRequest(job_id="a%2Fb c")


def test_query_parameters_convert_to_typed_fields(gateway: GatewayUnderTest) -> None:
    response = gateway.http.get(
        "/api/v1/jobs",
        params={
            "state": "Failed",
            "running": "true",
            "limit": "5",
            "offset": "10",
            "sort": "created_at:desc",
            "pipeline_id": "pipe_1234567890",
        },
    )

    assert response.status_code == 200
    body = response.json()
    assert body["has_more"] is False and [job["id"] for job in body["data"]] == [JOB_ID]
    request = gateway.controller.last()
    assert request == jobs_pb2.ListJobsRequest(
        state=jobs_pb2.Job.Failed,
        running=True,
        limit=5,
        offset=10,
        sort="created_at:desc",
        pipeline_id="pipe_1234567890",
    )
    assert request.HasField("running") and request.HasField("limit")


def test_bool_false_and_unset_optionals_are_distinguished(gateway: GatewayUnderTest) -> None:
    assert gateway.http.get("/api/v1/jobs?running=false").status_code == 200
    request = gateway.controller.last()
    assert request.HasField("running") and request.running is False

    assert gateway.http.get("/api/v1/jobs").status_code == 200
    assert not gateway.controller.last().HasField("running")


def test_unknown_query_parameter_is_rejected(gateway: GatewayUnderTest) -> None:
    before = len(gateway.controller.requests)
    body = assert_status_body(
        gateway.http.get("/api/v1/jobs?stat=Failed"), 400, grpc.StatusCode.INVALID_ARGUMENT
    )
    assert "stat" in body["message"]
    assert len(gateway.controller.requests) == before  # Rejected before any backend call.


def test_bad_query_values_are_rejected(gateway: GatewayUnderTest) -> None:
    enum_error = assert_status_body(
        gateway.http.get("/api/v1/jobs?state=Exploded"), 400, grpc.StatusCode.INVALID_ARGUMENT
    )
    assert "Exploded" in enum_error["message"] and "Running" in enum_error["message"]
    for query in ("state=failed", "running=maybe", "limit=ten", "limit=2.5", "limit=99999999999"):
        assert_status_body(gateway.http.get(f"/api/v1/jobs?{query}"), 400, grpc.StatusCode.INVALID_ARGUMENT)


def test_post_binds_body_and_path(gateway: GatewayUnderTest) -> None:
    response = gateway.http.post(
        f"/api/v1/jobs/{JOB_ID}/stop", json={"mode": "checkpoint", "timeout_seconds": 30}
    )

    assert response.status_code == 200
    assert response.text == '{"message":"Job stop initiated","expected_finish_time":1704067230000}'
    assert gateway.controller.last() == jobs_pb2.StopJobRequest(
        job_id=JOB_ID, mode=jobs_pb2.StopJobRequest.checkpoint, timeout_seconds=30
    )
    # An empty body is an empty message.
    assert gateway.http.post(f"/api/v1/jobs/{JOB_ID}/stop").status_code == 200
    assert gateway.controller.last() == jobs_pb2.StopJobRequest(job_id=JOB_ID)


def test_malformed_or_mistyped_bodies_are_rejected(gateway: GatewayUnderTest) -> None:
    url = f"/api/v1/jobs/{JOB_ID}/stop"
    bodies = {
        b'{"mode": "checkpoint",': "malformed",
        b'{"mode": "checkpoint", "mood": "calm"}': "mood",
        b'{"timeout_seconds": "soon"}': "timeout_seconds",
        b'{"mode": "gently"}': "gently",
        b'["checkpoint"]': "object",
        b"\xff\xfe": "UTF-8",
    }
    for body, mentioned in bodies.items():
        response = gateway.http.post(url, content=body, headers={"content-type": "application/json"})
        error = assert_status_body(response, 400, grpc.StatusCode.INVALID_ARGUMENT)
        assert mentioned in error["message"], (body, error)


def test_oversized_body_is_refused(gateway: GatewayUnderTest) -> None:
    response = gateway.http.post(
        f"/api/v1/jobs/{JOB_ID}/stop", content=b'{"mode":"' + b"x" * (2 * 1024 * 1024) + b'"}'
    )
    assert_status_body(response, 413, grpc.StatusCode.RESOURCE_EXHAUSTED)


def test_unknown_path_and_wrong_method_are_not_found(gateway: GatewayUnderTest) -> None:
    for method, path in (
        ("GET", "/api/v1/nothing"),
        ("GET", "/"),
        ("DELETE", f"/api/v1/jobs/{JOB_ID}"),  # Envoy answers 404 here too, not 405.
        ("GET", f"/api/v1/jobs/{JOB_ID}/stop"),
    ):
        body = assert_status_body(gateway.http.request(method, path), 404, grpc.StatusCode.NOT_FOUND)
        assert "Could not resolve" in body["message"]


def test_not_found_maps_to_404_with_status_body(gateway: GatewayUnderTest) -> None:
    response = gateway.http.get("/api/v1/jobs/job_unknown")

    assert response.status_code == 404
    assert response.text == '{"code":5,"message":"job job_unknown not found","details":[]}'
    assert "grpc-status" not in response.headers


def test_rich_error_details_reach_rest_callers(gateway: GatewayUnderTest) -> None:
    response = gateway.http.get(f"/api/v1/jobs/{MISSING_WITH_DETAILS}")

    body = assert_status_body(response, 404, grpc.StatusCode.NOT_FOUND)
    assert body["details"] == [
        {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "JOB_NOT_FOUND",
            "domain": "weir",
            "metadata": {"job_id": MISSING_WITH_DETAILS},
        }
    ]


@pytest.mark.parametrize(("code", "http_status"), sorted(ENVOY_HTTP_STATUS.items()))
def test_every_status_code_maps_as_envoy_maps_it(
    gateway: GatewayUnderTest, code: str, http_status: int
) -> None:
    response = gateway.http.get(f"/api/v1/jobs/{FAIL_WITH_PREFIX}{code}")
    body = assert_status_body(response, http_status, grpc.StatusCode[code])
    assert body == {"code": grpc.StatusCode[code].value[0], "message": f"failed with {code}", "details": []}


def test_failed_precondition_maps_to_400(gateway: GatewayUnderTest) -> None:
    response = gateway.http.post(f"/api/v1/jobs/{JOB_ID}/stop", json={"mode": "force", "timeout_seconds": 90})
    body = assert_status_body(response, 400, grpc.StatusCode.FAILED_PRECONDITION)
    assert body["message"] == "force stops do not wait that long"


def test_struct_numbers_print_without_fraction(gateway: GatewayUnderTest) -> None:
    response = gateway.http.get(
        f"/api/v1/jobs/{JOB_ID}/logs", params={"level": "info", "since": "1704067200000"}
    )

    assert response.status_code == 200
    assert '"partitions":12' in response.text and '"lag_ms":1704067200000' in response.text
    assert '"timestamp":1704067200000,' in response.text
    entry = response.json()["data"][0]
    assert entry["level"] == "info" and entry["task_index"] == 0
    assert entry["details"] == {"broker": "localhost:9092", "partitions": 12, "lag_ms": 1704067200000}
    request = gateway.metrics.last()
    assert request == logs_pb2.ListJobLogsRequest(
        job_id=JOB_ID, level=logs_pb2.LogEntry.info, since=1704067200000
    )


def test_http_body_responses_pass_through(gateway: GatewayUnderTest) -> None:
    csv = gateway.http.get(f"/api/v1/jobs/{JOB_ID}/output", params={"format": "csv"})
    assert csv.status_code == 200
    assert csv.headers["content-type"] == "text/csv"
    assert csv.content == CSV
    assert gateway.metrics.last() == metrics_pb2.GetJobOutputRequest(
        job_id=JOB_ID, format=metrics_pb2.GetJobOutputRequest.csv
    )

    as_json = gateway.http.get(f"/api/v1/jobs/{JOB_ID}/output")
    assert as_json.headers["content-type"] == "application/json"
    # Rendered by the metrics side with the shared printer; Struct keys sorted.
    assert as_json.text == (
        '{"data":[{"timestamp":1704067200000,"record":{"id":1,"message":"Test message","value":99.99}}],'
        '"operator_id":"sink_1","total_records":1000,"has_more":false}'
    )


def test_headers_are_forwarded_as_metadata(gateway: GatewayUnderTest) -> None:
    response = gateway.http.get(
        f"/api/v1/jobs/{JOB_ID}?",
        headers={"Authorization": "Bearer t0ken", "X-Tenant": "acme", "X-Trace-Bin": "AAEC"},
    )

    assert response.status_code == 200
    metadata = gateway.controller.metadata[-1]
    assert metadata["authorization"] == "Bearer t0ken"
    assert metadata["x-tenant"] == "acme"
    assert metadata["x-trace-bin"] == b"\x00\x01\x02"
    assert metadata["x-envoy-original-path"] == f"/api/v1/jobs/{JOB_ID}?"
    assert metadata["x-envoy-original-method"] == "GET"
    assert metadata["x-request-id"]
    assert "host" not in metadata and "content-length" not in metadata


def test_numbers_and_enums_print_per_proto3_json(gateway: GatewayUnderTest) -> None:
    response = gateway.http.get(f"/api/v1/jobs/{JOB_ID}/metrics")
    assert response.status_code == 200
    body = json.loads(response.text)
    assert body["records_in"] == 1000000 and body["latency_p50"] == 45 and body["backpressure"] == 0.15
    assert '"records_in":1000000,' in response.text and body["operators"] == []


def test_backend_down_is_503_with_status_body(degraded_gateway: GatewayUnderTest) -> None:
    body = assert_status_body(
        degraded_gateway.http.get(f"/api/v1/jobs/{JOB_ID}/metrics"), 503, grpc.StatusCode.UNAVAILABLE
    )
    assert body["details"] == []
    # The other backend is still reached through the same gateway.
    assert degraded_gateway.http.get(f"/api/v1/jobs/{JOB_ID}").status_code == 200


def test_backend_that_does_not_answer_times_out_with_504(degraded_gateway: GatewayUnderTest) -> None:
    response = degraded_gateway.http.get(f"/api/v1/jobs/{SLOW_JOB_ID}")
    assert_status_body(response, 504, grpc.StatusCode.DEADLINE_EXCEEDED)
