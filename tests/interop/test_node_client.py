"""A Node.js client (@grpc/grpc-js + @grpc/proto-loader) loads protos/ and calls ListJobs and
GetJob through the gRPC front door, and sees what REST clients see."""

from __future__ import annotations

from tests.conftest import RunningPlatform
from tests.interop.node_client import GOOGLEAPIS_DIR, PROTOS_DIR, run_node_client

NOT_FOUND = 5


def test_node_client_lists_and_gets_jobs(interop_platform: RunningPlatform, running_job_id: str) -> None:
    output = run_node_client(
        "list_and_get.js", interop_platform.grpc_address, str(PROTOS_DIR), str(GOOGLEAPIS_DIR)
    )

    listed = output["list"]
    assert [job["id"] for job in listed["data"]] == [running_job_id]
    assert listed["has_more"] is False

    job = output["job"]
    rest = interop_platform.rest.get(f"/api/v1/jobs/{running_job_id}").json()
    for field in ("id", "pipeline_id", "running_desired", "state", "run_id", "tasks", "created_at"):
        assert job[field] == rest[field], field
    assert job["state"] == "Running"
    assert job["start_time"] == rest["start_time"]
    # Unset optional fields: absent on the wire, so proto-loader leaves them undefined (not in
    # the JSON), where the REST gateway prints null.
    assert "finish_time" not in job and rest["finish_time"] is None
    assert set(job["metrics"]) == set(rest["metrics"])

    assert output["missing"]["code"] == NOT_FOUND
    assert "not found" in output["missing"]["details"]
