"""Bad input of every kind, over REST and over gRPC through the front door.

Each case is one bad request and what it must give: the gRPC status (and so, by Envoy's
mapping, the HTTP status) and a fragment of the message that tells the caller what to fix.
Over REST the body must be a `google.rpc.Status` (`code`, `message`, `details`), never a 5xx.
Where the same mistake can be made over gRPC, the case also names the RPC and its request
fields (`{running}`, `{stopped}`, `{pipeline}` stand for the IDs made here), and the front
door must answer the same status. Mistakes only JSON or a URL can make (malformed JSON,
unknown query parameters, wrong JSON types) are REST-only; numbers only a gRPC client can
send (undeclared enum values) are gRPC-only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from google.protobuf import json_format, message_factory
from google.protobuf.descriptor import MethodDescriptor

from services.contract.public_services import public_services
from tests.conftest import RunningPlatform, wait_for

UNKNOWN_JOB = "job_01ARZ3NDEKTSV4RRFFQ69G5FAV"
UNKNOWN_PIPELINE = "pipe_01ARZ3NDEKTSV4RRFFQ69G5FAV"
UNKNOWN_CHECKPOINT = "chk_01ARZ3NDEKTSV4RRFFQ69G5FAV"
QUERY = """CREATE TABLE impulse WITH (connector = 'impulse', event_rate = '20');
SELECT counter FROM impulse"""

INVALID = grpc.StatusCode.INVALID_ARGUMENT
PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION
NOT_FOUND = grpc.StatusCode.NOT_FOUND
# Envoy's gRPC -> HTTP mapping, for the statuses bad input gives.
HTTP_STATUS = {INVALID: 400, PRECONDITION: 400, grpc.StatusCode.OUT_OF_RANGE: 400, NOT_FOUND: 404}

RestCall = tuple[str, str, Any]  # method, target (path?query), body: None, raw text or JSON
GrpcCall = tuple[str, dict[str, Any]]  # method name, request fields


def get(target: str) -> RestCall:
    return "GET", target, None


def post(target: str, body: Any) -> RestCall:
    return "POST", target, body


def rpc(method: str, **fields: Any) -> GrpcCall:
    return method, fields


@dataclass(frozen=True)
class BadInput:
    name: str
    code: grpc.StatusCode
    hint: str  # a fragment of the message, case-insensitive
    rest: RestCall | None
    grpc: GrpcCall | None = None
    http_status: int | None = None  # when not the one Envoy maps `code` to


J = "/api/v1/jobs/{running}"
PIPELINES = "/api/v1/pipelines"
NAMED = {"name": "x", "query": QUERY}

# Every endpoint of one job: (HTTP method, path after the job ID, RPC, other request fields).
JOB_ENDPOINTS: list[tuple[str, str, str, dict[str, Any]]] = [
    ("GET", "", "GetJob", {}),
    ("POST", "/stop", "StopJob", {}),
    ("POST", "/restart", "RestartJob", {}),
    ("GET", "/metrics", "GetJobMetrics", {}),
    ("GET", "/operators/source_1/metrics", "GetOperatorMetrics", {"operator_id": "source_1"}),
    ("GET", "/metric-groups", "GetJobMetricGroups", {}),
    ("GET", "/output", "GetJobOutput", {}),
    ("GET", "/errors", "ListJobErrors", {}),
    ("GET", "/logs", "ListJobLogs", {}),
    ("GET", "/checkpoints", "ListJobCheckpoints", {}),
    ("GET", f"/checkpoints/{UNKNOWN_CHECKPOINT}", "GetJobCheckpoint", {"checkpoint_id": UNKNOWN_CHECKPOINT}),
]
# Every list: REST path, RPC, the fields naming what is listed, and whether it takes `offset`.
LISTS: list[tuple[str, str, dict[str, Any], bool]] = [
    ("/api/v1/jobs", "ListJobs", {}, True),
    (PIPELINES, "ListPipelines", {}, True),
    ("/api/v1/pipelines/{pipeline}/jobs", "ListPipelineJobs", {"pipeline_id": "{pipeline}"}, True),
    (f"{J}/checkpoints", "ListJobCheckpoints", {"job_id": "{running}"}, True),
    (f"{J}/output", "GetJobOutput", {"job_id": "{running}"}, True),
    (f"{J}/errors", "ListJobErrors", {"job_id": "{running}"}, False),
    (f"{J}/logs", "ListJobLogs", {"job_id": "{running}"}, False),
]

CASES = [
    *(
        BadInput(
            f"unknown job: {rpc_name}",
            NOT_FOUND,
            "not found",
            (method, f"/api/v1/jobs/{UNKNOWN_JOB}{suffix}", {} if method == "POST" else None),
            rpc(rpc_name, job_id=UNKNOWN_JOB, **fields),
        )
        for method, suffix, rpc_name, fields in JOB_ENDPOINTS
    ),
    *(
        BadInput(
            f"malformed job id: {rpc_name}",
            INVALID,
            "expected job_ followed by 26 characters",
            (method, f"/api/v1/jobs/job_42{suffix}", {} if method == "POST" else None),
            rpc(rpc_name, job_id="job_42", **fields),
        )
        for method, suffix, rpc_name, fields in JOB_ENDPOINTS
    ),
    *(
        BadInput(
            f"limit {limit}: {rpc_name}",
            INVALID,
            "limit must be between 1 and 1000",
            get(f"{path}?limit={limit}"),
            rpc(rpc_name, limit=limit, **fields),
        )
        for path, rpc_name, fields, _ in LISTS
        for limit in (0, -1, 1001)
    ),
    *(
        BadInput(f"limit {text}: {rpc_name}", INVALID, expected, get(f"{path}?limit={text}"))
        for path, rpc_name, _, _ in LISTS
        for text, expected in (("99999999999", "between -2147483648 and 2147483647"), ("ten", "an integer"))
    ),
    *(
        BadInput(
            f"negative offset: {rpc_name}",
            INVALID,
            "offset must not be negative",
            get(f"{path}?offset=-1"),
            rpc(rpc_name, offset=-1, **fields),
        )
        for path, rpc_name, fields, takes_offset in LISTS
        if takes_offset
    ),
    # Other unknown or malformed IDs.
    BadInput(
        "unknown pipeline",
        NOT_FOUND,
        "not found",
        get(f"{PIPELINES}/{UNKNOWN_PIPELINE}"),
        rpc("GetPipeline", pipeline_id=UNKNOWN_PIPELINE),
    ),
    BadInput(
        "unknown pipeline: delete",
        NOT_FOUND,
        "not found",
        ("DELETE", f"{PIPELINES}/{UNKNOWN_PIPELINE}", None),
        rpc("DeletePipeline", pipeline_id=UNKNOWN_PIPELINE),
    ),
    BadInput(
        "unknown pipeline: jobs",
        NOT_FOUND,
        "not found",
        get(f"{PIPELINES}/{UNKNOWN_PIPELINE}/jobs"),
        rpc("ListPipelineJobs", pipeline_id=UNKNOWN_PIPELINE),
    ),
    BadInput(
        "malformed pipeline id",
        INVALID,
        "expected pipe_",
        ("DELETE", f"{PIPELINES}/p", None),
        rpc("DeletePipeline", pipeline_id="p"),
    ),
    BadInput(
        "malformed pipeline filter",
        INVALID,
        "expected pipe_",
        get("/api/v1/jobs?pipeline_id=p1"),
        rpc("ListJobs", pipeline_id="p1"),
    ),
    BadInput(
        "unknown operator",
        NOT_FOUND,
        "operator 'nope' not found",
        get(f"{J}/operators/nope/metrics"),
        rpc("GetOperatorMetrics", job_id="{running}", operator_id="nope"),
    ),
    BadInput(
        "unknown output operator",
        NOT_FOUND,
        "not found",
        get(f"{J}/output?operator_id=sink_9"),
        rpc("GetJobOutput", job_id="{running}", operator_id="sink_9"),
    ),
    BadInput(
        "unknown checkpoint",
        NOT_FOUND,
        "not found",
        get(f"{J}/checkpoints/{UNKNOWN_CHECKPOINT}"),
        rpc("GetJobCheckpoint", job_id="{running}", checkpoint_id=UNKNOWN_CHECKPOINT),
    ),
    BadInput(
        "malformed checkpoint id",
        INVALID,
        "expected chk_",
        get(f"{J}/checkpoints/chk-1"),
        rpc("GetJobCheckpoint", job_id="{running}", checkpoint_id="chk-1"),
    ),
    BadInput(
        "restart from a malformed checkpoint",
        INVALID,
        "expected chk_",
        post("/api/v1/jobs/{stopped}/restart", {"checkpoint_id": "latest"}),
        rpc("RestartJob", job_id="{stopped}", checkpoint_id="latest"),
    ),
    BadInput(
        "restart from an unknown checkpoint",
        NOT_FOUND,
        "not found",
        post("/api/v1/jobs/{stopped}/restart", {"checkpoint_id": UNKNOWN_CHECKPOINT}),
        rpc("RestartJob", job_id="{stopped}", checkpoint_id=UNKNOWN_CHECKPOINT),
    ),
    # Enumerations, sort, filters.
    BadInput("unknown state", INVALID, "Created, Scheduling, Running", get("/api/v1/jobs?state=Bogus")),
    BadInput(
        "state in the wrong case", INVALID, "Created, Scheduling, Running", get("/api/v1/jobs?state=running")
    ),
    BadInput(
        "undeclared state number", INVALID, "Created, Scheduling, Running", None, rpc("ListJobs", state=42)
    ),
    BadInput(
        "bad sort field",
        INVALID,
        "sort by one of",
        get("/api/v1/jobs?sort=speed"),
        rpc("ListJobs", sort="speed"),
    ),
    BadInput(
        "bad sort order",
        INVALID,
        "asc or desc",
        get("/api/v1/jobs?sort=run_id:up"),
        rpc("ListJobs", sort="run_id:up"),
    ),
    BadInput("running not a boolean", INVALID, "true or false", get("/api/v1/jobs?running=maybe")),
    BadInput("completed not a boolean", INVALID, "true or false", get(f"{J}/checkpoints?completed=2")),
    BadInput("unknown output format", INVALID, "json, csv", get(f"{J}/output?format=xml")),
    BadInput(
        "undeclared output format",
        INVALID,
        "json or csv",
        None,
        rpc("GetJobOutput", job_id="{running}", format=7),
    ),
    BadInput("unknown error level", INVALID, "error, warning", get(f"{J}/errors?level=fatal")),
    BadInput(
        "undeclared error level",
        INVALID,
        "error, warning",
        None,
        rpc("ListJobErrors", job_id="{running}", level=9),
    ),
    BadInput("unknown log level", INVALID, "info, warn, error", get(f"{J}/logs?level=debug")),
    BadInput(
        "undeclared log level",
        INVALID,
        "info, warn, error",
        None,
        rpc("ListJobLogs", job_id="{running}", level=9),
    ),
    BadInput(
        "negative task index",
        INVALID,
        "task_index must not be negative",
        get(f"{J}/logs?task_index=-1"),
        rpc("ListJobLogs", job_id="{running}", task_index=-1),
    ),
    BadInput("since not a number", INVALID, "expected a number", get(f"{J}/logs?since=yesterday")),
    BadInput(
        "until before since",
        INVALID,
        "until must not be before since",
        get(f"{J}/logs?since=20&until=10"),
        rpc("ListJobLogs", job_id="{running}", since=20, until=10),
    ),
    # Unknown query parameters.
    BadInput(
        "unknown query parameter", INVALID, 'unknown query parameter "colour"', get("/api/v1/jobs?colour=red")
    ),
    BadInput(
        "parameter of another list",
        INVALID,
        'unknown query parameter "limit"',
        get("/api/v1/workers?limit=5"),
    ),
    BadInput("parameter on a get", INVALID, 'unknown query parameter "verbose"', get(f"{J}?verbose=true")),
    # Stop modes and timeouts.
    BadInput("unknown stop mode", INVALID, "gentle", post(f"{J}/stop", {"mode": "gentle"})),
    BadInput(
        "undeclared stop mode",
        INVALID,
        "checkpoint, immediate, force",
        post(f"{J}/stop", {"mode": 42}),
        rpc("StopJob", job_id="{running}", mode=42),
    ),
    BadInput("stop mode as a boolean", INVALID, "mode", post(f"{J}/stop", {"mode": True})),
    *(
        BadInput(
            f"timeout {seconds}",
            INVALID,
            "timeout_seconds must be between 1 and 3600",
            post(f"{J}/stop", {"timeout_seconds": seconds}),
            rpc("StopJob", job_id="{running}", timeout_seconds=seconds),
        )
        for seconds in (0, -30, 3601)
    ),
    *(
        BadInput(
            f"timeout {seconds!r}",
            INVALID,
            "timeout_seconds",
            post(f"{J}/stop", {"timeout_seconds": seconds}),
        )
        for seconds in (1.5, "30s", 99999999999, [30])
    ),
    # Bodies: malformed JSON, wrong types, unknown fields.
    BadInput("truncated JSON", INVALID, "malformed JSON", post(f"{J}/stop", '{"mode": "force"')),
    BadInput("not JSON", INVALID, "malformed JSON", post(f"{PIPELINES}/validate", "SELECT 1")),
    BadInput("JSON array body", INVALID, "expected a JSON object", post(f"{J}/stop", "[]")),
    BadInput("JSON string body", INVALID, "expected a JSON object", post(PIPELINES, '"x"')),
    BadInput(
        "duplicate keys", INVALID, "duplicate key", post(f"{J}/stop", '{"mode":"force","mode":"immediate"}')
    ),
    BadInput("NaN literal", INVALID, "NaN", post(f"{PIPELINES}/validate", '{"parallelism": NaN}')),
    BadInput("unknown body field", INVALID, 'no field named "nope"', post(f"{J}/stop", {"nope": 1})),
    BadInput(
        "unknown pipeline field", INVALID, 'no field named "sql"', post(PIPELINES, {**NAMED, "sql": "x"})
    ),
    BadInput("name of the wrong type", INVALID, "name", post(PIPELINES, {**NAMED, "name": 5})),
    BadInput("parallelism as text", INVALID, "parallelism", post(PIPELINES, {**NAMED, "parallelism": "two"})),
    BadInput(
        "restart parallelism as text",
        INVALID,
        "parallelism",
        post("/api/v1/jobs/{stopped}/restart", {"parallelism": "x"}),
    ),
    # Pipelines: bad values.
    BadInput(
        "empty pipeline name",
        INVALID,
        "name must not be empty",
        post(PIPELINES, {**NAMED, "name": " "}),
        rpc("CreatePipeline", name=" ", query=QUERY),
    ),
    BadInput(
        "bad SQL",
        INVALID,
        "line 1, column 7",
        post(PIPELINES, {**NAMED, "query": "SELEC 1"}),
        rpc("CreatePipeline", name="x", query="SELEC 1"),
    ),
    BadInput(
        "zero parallelism",
        INVALID,
        "parallelism must be between 1 and 64",
        post(PIPELINES, {**NAMED, "parallelism": 0}),
        rpc("CreatePipeline", **NAMED, parallelism=0),
    ),
    BadInput(
        "checkpoint interval too short",
        INVALID,
        "checkpoint_interval_ms must be between",
        post(PIPELINES, {**NAMED, "checkpoint_interval_ms": 5}),
        rpc("CreatePipeline", **NAMED, checkpoint_interval_ms=5),
    ),
    BadInput(
        "validate at parallelism 65",
        INVALID,
        "parallelism must be between 1 and 64",
        post(f"{PIPELINES}/validate", {"query": QUERY, "parallelism": 65}),
        rpc("ValidatePipeline", query=QUERY, parallelism=65),
    ),
    BadInput(
        "restart at parallelism 65",
        INVALID,
        "parallelism must be between 1 and 64",
        post("/api/v1/jobs/{stopped}/restart", {"parallelism": 65}),
        rpc("RestartJob", job_id="{stopped}", parallelism=65),
    ),
    # Right input, wrong moment.
    BadInput(
        "restart a running job",
        PRECONDITION,
        "stop it before restarting it",
        post(f"{J}/restart", {}),
        rpc("RestartJob", job_id="{running}"),
    ),
    BadInput(
        "stop a stopped job",
        PRECONDITION,
        "nothing to stop",
        post("/api/v1/jobs/{stopped}/stop", {"mode": "immediate"}),
        rpc("StopJob", job_id="{stopped}", mode="immediate"),
    ),
    BadInput(
        "delete a pipeline with a running job",
        PRECONDITION,
        "stop them first",
        ("DELETE", f"{PIPELINES}/{{pipeline}}", None),
        rpc("DeletePipeline", pipeline_id="{pipeline}"),
    ),
    BadInput(
        "body over 1 MiB",
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "maximum request body size",
        post(f"{PIPELINES}/validate", {"query": "x" * (1024 * 1024)}),
        http_status=413,
    ),
    # No such endpoint.
    BadInput("unknown path", NOT_FOUND, "could not resolve", get("/api/v1/jobz")),
    BadInput("method without a rule", NOT_FOUND, "could not resolve", ("PUT", J, "{}")),
]


@pytest.fixture(scope="module")
def ids(platform: RunningPlatform) -> dict[str, str]:
    """A running job and a stopped one (with their pipelines) for the cases to name."""

    def create(name: str) -> tuple[str, str]:
        created = platform.rest.post("/api/v1/pipelines", json={"name": name, "query": QUERY})
        assert created.status_code == 200, created.text
        pipeline_id = created.json()["id"]
        job_id = platform.rest.get(f"/api/v1/pipelines/{pipeline_id}/jobs").json()["data"][0]["id"]
        return pipeline_id, job_id

    def state(job_id: str) -> str:
        return str(platform.rest.get(f"/api/v1/jobs/{job_id}").json()["state"])

    pipeline, running = create("running")
    _, stopped = create("stopped")
    wait_for(lambda: state(stopped) == "Running", what="the job to stop to run")
    stop = platform.rest.post(f"/api/v1/jobs/{stopped}/stop", json={"mode": "immediate"})
    assert stop.status_code == 200, stop.text
    wait_for(
        lambda: state(stopped) == "Stopped" and state(running) == "Running", what="one running, one stopped"
    )
    return {"running": running, "stopped": stopped, "pipeline": pipeline}


def _fill(value: Any, ids: dict[str, str]) -> Any:
    """`{running}` and friends replaced by the IDs made for this module, in text and JSON."""
    if isinstance(value, str):
        for name, id_ in ids.items():
            value = value.replace(f"{{{name}}}", id_)
        return value
    if isinstance(value, dict):
        return {key: _fill(item, ids) for key, item in value.items()}
    return value


@pytest.mark.parametrize("case", [c for c in CASES if c.rest], ids=lambda case: case.name)
def test_bad_input_over_rest(case: BadInput, platform: RunningPlatform, ids: dict[str, str]) -> None:
    assert case.rest is not None
    method, target, body = case.rest
    content = body if isinstance(body, str) else None if body is None else json.dumps(body)
    response = platform.rest.request(
        method, _fill(target, ids), content=content, headers={"content-type": "application/json"}
    )
    assert response.status_code == (case.http_status or HTTP_STATUS[case.code]), response.text[:500]
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()
    assert set(error) == {"code", "message", "details"}, error
    assert error["code"] == case.code.value[0]
    assert isinstance(error["details"], list)
    assert case.hint.lower() in error["message"].lower(), error["message"]
    assert "Traceback" not in response.text


@pytest.fixture(scope="module")
def front_door(platform: RunningPlatform) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(platform.grpc_address) as channel:
        yield channel


def _method(name: str) -> MethodDescriptor:
    """A public RPC by its method name (they are unique across the public services)."""
    [method] = [m for service in public_services() for m in service.methods if m.name == name]
    return method


@pytest.mark.parametrize("case", [c for c in CASES if c.grpc], ids=lambda case: case.name)
def test_bad_input_over_grpc(case: BadInput, front_door: grpc.Channel, ids: dict[str, str]) -> None:
    assert case.grpc is not None
    name, fields = case.grpc
    method = _method(name)
    request = message_factory.GetMessageClass(method.input_type)()
    # Numbers for enums go in as numbers: proto3 enums are open, so a gRPC client can send any.
    json_format.ParseDict(_fill(fields, ids), request)
    call = front_door.unary_unary(f"/{method.containing_service.full_name}/{method.name}")
    with pytest.raises(grpc.RpcError) as failure:
        call(request.SerializeToString(), timeout=10)
    assert failure.value.code() == case.code, failure.value.details()
    assert case.hint.lower() in (failure.value.details() or "").lower()
