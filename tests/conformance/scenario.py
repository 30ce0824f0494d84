"""Real data for every endpoint: pipelines on a running platform, driven until each endpoint
of the reference has a non-empty answer to compare with its example.

- `orders` (the reference's own create-pipeline example) runs, so that metrics, operator
  metrics, metric groups, output, logs and checkpoints have values;
- `failing` divides by zero at its 21st record, so that its job has error records;
- `restarted` is stopped with the reference's stop request and restarted (a second run) from
  its final checkpoint at twice its parallelism;
- `deleted` is force-stopped and deleted.

The calls that change something (create, stop, restart, delete) happen once, here; their
responses are kept for the tests to compare with the reference.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.conformance.api_reference import Endpoint, api_examples
from tests.conftest import RunningPlatform, wait_for

CREATE_PIPELINE = Endpoint("POST", "/api/v1/pipelines")
STOP_JOB = Endpoint("POST", "/api/v1/jobs/{job_id}/stop")
RESTART_JOB = Endpoint("POST", "/api/v1/jobs/{job_id}/restart")
DELETE_PIPELINE = Endpoint("DELETE", "/api/v1/pipelines/{pipeline_id}")

FAILING_QUERY = """CREATE TABLE impulse WITH (connector = 'impulse', event_rate = '200');
SELECT counter, 10 / (counter - 20) AS ratio FROM impulse"""
PLAIN_QUERY = """CREATE TABLE impulse WITH (connector = 'impulse', event_rate = '50');
SELECT counter FROM impulse WHERE counter % 2 = 0"""

RESTART_PARALLELISM = 2
# How long the platform gets to take a first checkpoint of `orders` (every second) before the
# checkpoint examples are reported as waiting for the checkpoint coordinator.
CHECKPOINT_WAIT_S = 10.0


@dataclass
class Scenario:
    rest: httpx.Client
    orders_pipeline_id: str
    orders_job_id: str
    failing_job_id: str
    restarted_pipeline_id: str
    restarted_job_id: str
    orders_checkpoint_id: str | None
    recorded: dict[Endpoint, httpx.Response] = field(default_factory=dict)


def request_example(endpoint: Endpoint) -> dict[str, Any]:
    """The request body docs/api.md shows for `endpoint`."""
    for example in api_examples():
        if example.role == "request" and example.endpoint == endpoint:
            body: dict[str, Any] = example.json()
            return body
    raise LookupError(f"docs/api.md has no request example for {endpoint}")


def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, f"{response.request.method} {response.request.url}: {response.text}"
    body: dict[str, Any] = response.json()
    return body


def _create(rest: httpx.Client, body: dict[str, Any]) -> tuple[httpx.Response, str, str]:
    response = rest.post("/api/v1/pipelines", json=body)
    pipeline_id = _ok(response)["id"]
    jobs = _ok(rest.get(f"/api/v1/pipelines/{pipeline_id}/jobs"))["data"]
    return response, pipeline_id, jobs[0]["id"]


def _job(rest: httpx.Client, job_id: str) -> dict[str, Any]:
    return _ok(rest.get(f"/api/v1/jobs/{job_id}"))


def _wait_state(rest: httpx.Client, job_id: str, state: str) -> None:
    wait_for(lambda: _job(rest, job_id)["state"] == state, timeout_s=60, what=f"job {job_id} {state}")


def _first_completed_checkpoint(rest: httpx.Client, job_id: str) -> str | None:
    def completed() -> str | None:
        listed = _ok(rest.get(f"/api/v1/jobs/{job_id}/checkpoints", params={"completed": "true"}))
        return listed["data"][0]["id"] if listed["data"] else None

    try:
        return wait_for(completed, timeout_s=CHECKPOINT_WAIT_S, what="a completed checkpoint")
    except AssertionError:
        return None


def build_scenario(platform: RunningPlatform) -> Scenario:
    rest = platform.rest
    created, orders_pipeline, orders_job = _create(rest, request_example(CREATE_PIPELINE))
    _, _, failing_job = _create(rest, {"name": "failing", "query": FAILING_QUERY})
    _, restarted_pipeline, to_restart = _create(
        rest, {"name": "restarted", "query": PLAIN_QUERY, "checkpoint_interval_ms": 1000}
    )
    _, deleted_pipeline, to_delete = _create(rest, {"name": "deleted", "query": PLAIN_QUERY})

    _wait_state(rest, to_restart, "Running")
    stopped = rest.post(f"/api/v1/jobs/{to_restart}/stop", json=request_example(STOP_JOB))
    _ok(stopped)
    _wait_state(rest, to_delete, "Running")
    _ok(rest.post(f"/api/v1/jobs/{to_delete}/stop", json={"mode": "force"}))
    _wait_state(rest, to_restart, "Stopped")
    final = _ok(rest.get(f"/api/v1/jobs/{to_restart}/checkpoints", params={"completed": "true", "limit": 1}))
    restart_body: dict[str, Any] = {"parallelism": RESTART_PARALLELISM}
    if final["data"]:
        restart_body["checkpoint_id"] = final["data"][0]["id"]
    restarted = rest.post(f"/api/v1/jobs/{to_restart}/restart", json=restart_body)
    restarted_job = _ok(restarted)["new_job_id"]
    _wait_state(rest, to_delete, "Stopped")
    deleted = rest.delete(f"/api/v1/pipelines/{deleted_pipeline}")
    _ok(deleted)

    def orders_has_data() -> bool:
        metrics = _ok(rest.get(f"/api/v1/jobs/{orders_job}/metrics"))
        output = _ok(rest.get(f"/api/v1/jobs/{orders_job}/output"))
        logs = _ok(rest.get(f"/api/v1/jobs/{orders_job}/logs"))
        return metrics["records_out"] > 0 and len(output["data"]) >= 2 and bool(logs["data"])

    wait_for(orders_has_data, timeout_s=60, what="metrics, output and logs of the orders job")
    wait_for(
        lambda: _ok(rest.get(f"/api/v1/jobs/{failing_job}/errors"))["data"],
        timeout_s=60,
        what="error records of the failing job",
    )
    _wait_state(rest, restarted_job, "Running")
    return Scenario(
        rest=rest,
        orders_pipeline_id=orders_pipeline,
        orders_job_id=orders_job,
        failing_job_id=failing_job,
        restarted_pipeline_id=restarted_pipeline,
        restarted_job_id=restarted_job,
        orders_checkpoint_id=_first_completed_checkpoint(rest, orders_job),
        recorded={
            CREATE_PIPELINE: created,
            STOP_JOB: stopped,
            RESTART_JOB: restarted,
            DELETE_PIPELINE: deleted,
        },
    )
