"""Every response example of docs/api.md against the live answer of a running platform,
field by field and type by type (see `json_shape`), so the reference cannot drift from the
code: a renamed, added, removed or retyped field fails here."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable

import httpx
import pytest

from tests.conformance.api_reference import ApiExample, api_examples
from tests.conformance.json_shape import shape_mismatches
from tests.conformance.scenario import (
    CREATE_PIPELINE,
    DELETE_PIPELINE,
    RESTART_JOB,
    RESTART_PARALLELISM,
    STOP_JOB,
    Scenario,
)

# Well-formed, but no such job.
UNKNOWN_JOB_ID = "job_01ARZ3NDEKTSV4RRFFQ69G5FAV"
CHECKPOINTS_PENDING = (
    "no completed checkpoint of a running job within the wait: the checkpoint coordinator "
    "(another issue) has to land before the checkpoint examples can be checked with data"
)


def _checkpoints(s: Scenario) -> httpx.Response:
    response = s.rest.get(f"/api/v1/jobs/{s.orders_job_id}/checkpoints", params={"completed": "true"})
    if s.orders_checkpoint_id is None:
        # What there is already has the list's shape; the elements need checkpoints.
        assert response.status_code == 200, response.text
        assert response.json() == {"data": [], "has_more": False}
        pytest.xfail(CHECKPOINTS_PENDING)
    return response


def _checkpoint(s: Scenario) -> httpx.Response:
    if s.orders_checkpoint_id is None:
        pytest.xfail(CHECKPOINTS_PENDING)
    return s.rest.get(f"/api/v1/jobs/{s.orders_job_id}/checkpoints/{s.orders_checkpoint_id}")


def _stopped_job(s: Scenario) -> str:
    """The job the scenario stopped and restarted: final, so its live views end by themselves."""
    return s.recorded[RESTART_JOB].request.url.path.split("/")[4]


def _check_sse(example: ApiExample, response: httpx.Response) -> None:
    """Every live event has the shape of the example's event of the same kind (its keys)."""
    assert response.headers["content-type"] == "text/event-stream"
    body = response.text
    assert body.endswith("\n\n"), "no events, or a partial one at the end"
    kinds = {frozenset(event): event for event in example.sse_events()}
    for event in body.removesuffix("\n\n").split("\n\n"):
        assert event.startswith("data: "), event
        live = json.loads(event.removeprefix("data: "))
        documented = kinds.get(frozenset(live))
        assert documented is not None, f"an event of a kind docs/api.md does not show: {event}"
        mismatches = shape_mismatches(documented, live, example.open_paths, example.nullable_paths)
        assert not mismatches, f"docs/api.md line {example.line} ({example.key}) vs live:\n" + "\n".join(
            mismatches
        )


def _validate(s: Scenario, query: str) -> httpx.Response:
    return s.rest.post("/api/v1/pipelines/validate", json={"query": query})


# One live call per example, keyed as `ApiExample.key`.
LIVE_CALLS: dict[str, Callable[[Scenario], httpx.Response]] = {
    "error": lambda s: s.rest.get(f"/api/v1/jobs/{UNKNOWN_JOB_ID}"),
    "GET /api/v1/jobs": lambda s: s.rest.get("/api/v1/jobs", params={"limit": 1000}),
    "GET /api/v1/jobs/{job_id}": lambda s: s.rest.get(f"/api/v1/jobs/{s.orders_job_id}"),
    "POST /api/v1/jobs/{job_id}/stop": lambda s: s.recorded[STOP_JOB],
    "POST /api/v1/jobs/{job_id}/restart": lambda s: s.recorded[RESTART_JOB],
    "GET /api/v1/jobs/{job_id}/metrics": lambda s: s.rest.get(f"/api/v1/jobs/{s.orders_job_id}/metrics"),
    "GET /api/v1/jobs/{job_id}/operators/{operator_id}/metrics": lambda s: s.rest.get(
        f"/api/v1/jobs/{s.orders_job_id}/operators/project_3/metrics"
    ),
    "GET /api/v1/jobs/{job_id}/metric-groups": lambda s: s.rest.get(
        f"/api/v1/jobs/{s.orders_job_id}/metric-groups"
    ),
    "GET /api/v1/jobs/{job_id}/output": lambda s: s.rest.get(
        f"/api/v1/jobs/{s.orders_job_id}/output", params={"limit": 5}
    ),
    "GET /api/v1/jobs/{job_id}/output [csv]": lambda s: s.rest.get(
        f"/api/v1/jobs/{s.orders_job_id}/output", params={"limit": 5, "format": "csv"}
    ),
    "GET /api/v1/jobs/{job_id}/errors": lambda s: s.rest.get(f"/api/v1/jobs/{s.failing_job_id}/errors"),
    "GET /api/v1/jobs/{job_id}/logs": lambda s: s.rest.get(f"/api/v1/jobs/{s.orders_job_id}/logs"),
    "GET /api/v1/jobs/{job_id}/watch": lambda s: s.rest.get(f"/api/v1/jobs/{_stopped_job(s)}/watch"),
    "GET /api/v1/jobs/{job_id}/logs/tail": lambda s: s.rest.get(
        f"/api/v1/jobs/{_stopped_job(s)}/logs/tail", params={"since": 0}
    ),
    "GET /api/v1/jobs/{job_id}/checkpoints": _checkpoints,
    "GET /api/v1/jobs/{job_id}/checkpoints/{checkpoint_id}": _checkpoint,
    "POST /api/v1/pipelines": lambda s: s.recorded[CREATE_PIPELINE],
    "GET /api/v1/pipelines": lambda s: s.rest.get("/api/v1/pipelines", params={"limit": 1000}),
    "GET /api/v1/pipelines/{pipeline_id}": lambda s: s.rest.get(f"/api/v1/pipelines/{s.orders_pipeline_id}"),
    "DELETE /api/v1/pipelines/{pipeline_id}": lambda s: s.recorded[DELETE_PIPELINE],
    "GET /api/v1/pipelines/{pipeline_id}/jobs": lambda s: s.rest.get(
        f"/api/v1/pipelines/{s.restarted_pipeline_id}/jobs"
    ),
    "POST /api/v1/pipelines/validate": lambda s: _validate(
        s, "CREATE TABLE impulse WITH (connector = 'impulse', event_rate = '10'); SELECT counter FROM impulse"
    ),
    "POST /api/v1/pipelines/validate [invalid]": lambda s: _validate(s, "SELEC 1"),
    "GET /api/v1/workers": lambda s: s.rest.get("/api/v1/workers"),
}

RESPONSE_EXAMPLES = [example for example in api_examples() if example.role == "example"]


def test_every_response_example_has_a_live_call() -> None:
    documented = {example.key for example in RESPONSE_EXAMPLES}
    assert documented - LIVE_CALLS.keys() == set(), "examples of docs/api.md without a live call here"
    assert LIVE_CALLS.keys() - documented == set(), "live calls for examples docs/api.md no longer has"


def _check_csv(example: ApiExample, response: httpx.Response) -> None:
    assert response.headers["content-type"].split(";")[0].strip() == "text/csv"
    expected = list(csv.reader(io.StringIO(example.text)))
    live = list(csv.reader(io.StringIO(response.text)))
    assert live, "no CSV rows"
    assert live[0] == expected[0], "header row"
    assert len(live) > 1, "a header but no rows"
    assert all(len(row) == len(expected[0]) for row in live), "rows of another width than the header"


@pytest.mark.parametrize("example", RESPONSE_EXAMPLES, ids=lambda example: example.key)
def test_live_response_has_the_shape_of_the_example(example: ApiExample, scenario: Scenario) -> None:
    response = LIVE_CALLS[example.key](scenario)
    expected_status = 404 if example.endpoint is None else 200
    assert response.status_code == expected_status, response.text
    if example.language == "csv":
        _check_csv(example, response)
        return
    if example.language == "sse":
        _check_sse(example, response)
        return
    assert response.headers["content-type"].split(";")[0].strip() == "application/json"
    mismatches = shape_mismatches(example.json(), response.json(), example.open_paths, example.nullable_paths)
    assert not mismatches, f"docs/api.md line {example.line} ({example.key}) vs live:\n" + "\n".join(
        mismatches
    )


def test_the_answers_carry_real_values(scenario: Scenario) -> None:
    """Shapes alone would pass with zeros everywhere: the values are those of running jobs."""
    rest = scenario.rest
    orders = rest.get(f"/api/v1/jobs/{scenario.orders_job_id}").json()
    assert orders["state"] == "Running" and orders["running_desired"] is True
    assert orders["tasks"] == 2 and orders["metrics"]["records_in"] > 0
    # Unset optional values print as null from the embedded gateway (Envoy leaves them out).
    assert orders["finish_time"] is None and orders["failure_message"] is None
    operator = rest.get(f"/api/v1/jobs/{scenario.orders_job_id}/operators/project_3/metrics").json()
    assert (
        [s["subtask_index"] for s in operator["subtask_metrics"]]
        == list(range(operator["subtasks"]))
        == [0, 1]
    )
    rows = rest.get(f"/api/v1/jobs/{scenario.orders_job_id}/output", params={"limit": 5}).json()["data"]
    for row in rows:
        assert row["record"]["message"] == "Test message"
        assert row["record"]["value"] == pytest.approx(row["record"]["id"] + 0.99)

    runs = rest.get(f"/api/v1/pipelines/{scenario.restarted_pipeline_id}/jobs").json()["data"]
    assert [(job["run_id"], job["state"]) for job in runs] == [(2, "Running"), (1, "Stopped")]
    assert runs[0]["id"] == scenario.restarted_job_id
    assert (runs[1]["tasks"], runs[0]["tasks"]) == (1, RESTART_PARALLELISM), "restarted at a new parallelism"
    assert runs[1]["running_desired"] is False and isinstance(runs[1]["finish_time"], int)

    errors = rest.get(f"/api/v1/jobs/{scenario.failing_job_id}/errors").json()["data"]
    assert errors[0]["level"] == "error" and errors[0]["operator_id"] == "project_2"
    assert '"counter":20' in errors[0]["record"]
    assert "division by zero" in errors[0]["message"]

    deleted = scenario.recorded[DELETE_PIPELINE].request.url.path
    assert rest.get(deleted).status_code == 404
