"""`since` and `until` of GET /api/v1/jobs/{id}/logs must be real times: NaN and the infinities
parse as doubles (the URL rules of proto3 JSON accept them) but name no moment, so the metrics
service refuses them — over REST and over gRPC alike, and so behind Envoy too."""

from __future__ import annotations

import grpc
import pytest

from tests.conftest import RunningPlatform
from weir.v1 import logs_pb2, logs_pb2_grpc

QUERY = "CREATE TABLE impulse WITH (connector = 'impulse', event_rate = '50');\nSELECT counter FROM impulse"


@pytest.fixture(scope="module")
def job_id(platform: RunningPlatform) -> str:
    """A real job, so that a 400 cannot be a 404 in disguise."""
    created = platform.rest.post("/api/v1/pipelines", json={"name": "log-bounds", "query": QUERY})
    assert created.status_code == 200, created.text
    jobs = platform.rest.get(f"/api/v1/pipelines/{created.json()['id']}/jobs").json()["data"]
    return str(jobs[0]["id"])


@pytest.mark.parametrize("bound", ["since", "until"])
@pytest.mark.parametrize("value", ["NaN", "nan", "Infinity", "-Infinity", "inf"])
def test_a_time_that_is_not_finite_is_a_400(
    platform: RunningPlatform, job_id: str, bound: str, value: str
) -> None:
    response = platform.rest.get(f"/api/v1/jobs/{job_id}/logs", params={bound: value})
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["code"] == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert error["message"].startswith(f"{bound} must be a finite millisecond timestamp"), error


def test_finite_times_are_still_answered(platform: RunningPlatform, job_id: str) -> None:
    response = platform.rest.get(f"/api/v1/jobs/{job_id}/logs", params={"since": "0", "until": "1e15"})
    assert response.status_code == 200, response.text
    assert isinstance(response.json()["data"], list)


def test_the_same_over_grpc(platform: RunningPlatform, job_id: str) -> None:
    with grpc.insecure_channel(platform.grpc_address) as channel:
        stub = logs_pb2_grpc.JobLogServiceStub(channel)
        with pytest.raises(grpc.RpcError) as failure:
            stub.ListJobLogs(logs_pb2.ListJobLogsRequest(job_id=job_id, since=float("nan")), timeout=10)
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "since must be a finite millisecond timestamp" in (failure.value.details() or "")
