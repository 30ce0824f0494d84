"""Every input bound, end to end through a real `weir up` with an admin token: the caller
gets a 4xx (or the gRPC equivalent), never a 5xx, a hang or a write. The limits are those
of the modules named in each case; this is the one place that checks them all together."""

from __future__ import annotations

import grpc
import pytest

from services.api_errors import MAX_PAGE_SIZE, MAX_STATUS_MESSAGE_CHARS
from services.contract.json_parsing import MAX_DEPTH
from services.controller.api.pipelines import (
    MAX_CHECKPOINT_INTERVAL_MS,
    MAX_CHECKPOINTS_RETAINED,
    MAX_NAME_LENGTH,
    MAX_PARALLELISM,
    MAX_QUERY_BYTES,
    MIN_CHECKPOINT_INTERVAL_MS,
)
from services.gateway.config import DEFAULT_MAX_REQUEST_BYTES
from services.planner.dataflow_builder import MAX_PLAN_OPERATORS
from services.security.api_tokens import MAX_TOKEN_CHARS
from services.serving import MAX_MESSAGE_BYTES
from tests.security.conftest import SecuredPlatform
from weir.v1 import jobs_pb2, jobs_pb2_grpc, pipelines_pb2, pipelines_pb2_grpc

QUERY = "CREATE TABLE impulse WITH (connector = 'impulse', event_rate = '10');\nSELECT counter FROM impulse"
# SQL within the length bound that nests past what the parser, or the expression compiler, recurses into.
NESTED_PARENTHESES = QUERY.replace("SELECT counter", "SELECT " + "(" * 3000 + "counter" + ")" * 3000)
OPERATOR_CHAIN = QUERY.replace("SELECT counter", "SELECT counter" + " + 1" * 3000 + " AS c")
# Short SQL planning more operators than a plan may have (each SELECT is several).
MANY_OPERATORS = QUERY + "".join([";\nSELECT counter FROM impulse"] * MAX_PLAN_OPERATORS)


def file_query(path: str) -> str:
    return (
        "CREATE TABLE users (id BIGINT NOT NULL) WITH (\n"
        f"  connector = 'single_file', path = '{path}', format = 'json', type = 'source');\n"
        "SELECT id FROM users"
    )


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"name": "n" * (MAX_NAME_LENGTH + 1), "query": QUERY}, 400),
        ({"name": "long-sql", "query": QUERY + " " * MAX_QUERY_BYTES}, 400),
        ({"name": "wide", "query": QUERY, "parallelism": MAX_PARALLELISM + 1}, 400),
        ({"name": "escape", "query": file_query("/etc/passwd")}, 400),
        ({"name": "dotdot", "query": file_query("../../../../etc/passwd")}, 400),
        ({"name": "big-body", "query": "x" * (DEFAULT_MAX_REQUEST_BYTES + 1)}, 413),
        ({"name": "fast", "query": QUERY, "checkpoint_interval_ms": MIN_CHECKPOINT_INTERVAL_MS - 1}, 400),
        ({"name": "slow", "query": QUERY, "checkpoint_interval_ms": MAX_CHECKPOINT_INTERVAL_MS + 1}, 400),
        ({"name": "none-kept", "query": QUERY, "checkpoints_retained": 0}, 400),
        ({"name": "many-kept", "query": QUERY, "checkpoints_retained": MAX_CHECKPOINTS_RETAINED + 1}, 400),
        ({"name": "nested", "query": NESTED_PARENTHESES}, 400),
        ({"name": "chain", "query": OPERATOR_CHAIN}, 400),
        ({"name": "operators", "query": MANY_OPERATORS}, 400),
    ],
    ids=[
        "name",
        "sql-length",
        "parallelism",
        "absolute-path",
        "dotdot-path",
        "body-size",
        "checkpoint-interval-low",
        "checkpoint-interval-high",
        "checkpoints-retained-low",
        "checkpoints-retained-high",
        "sql-nesting",
        "sql-expression-depth",
        "plan-operators",
    ],
)
def test_pipeline_inputs_are_bounded(secured: SecuredPlatform, body: dict[str, object], status: int) -> None:
    with secured.client(secured.admin_token) as client:
        before = client.get("/api/v1/pipelines").json()["data"]
        response = client.post("/api/v1/pipelines", json=body)
        assert response.status_code == status, response.text[:500]
        assert client.get("/api/v1/pipelines").json()["data"] == before


def test_deeply_nested_json_is_refused(secured: SecuredPlatform) -> None:
    nested = "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)
    body = '{"name": "deep", "query": "SELECT 1", "labels": ' + nested + "}"
    with secured.client(secured.admin_token) as client:
        response = client.post(
            "/api/v1/pipelines", content=body, headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 400 and "nested deeper" in response.text, response.text[:500]


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/jobs?limit={MAX_PAGE_SIZE + 1}",
        "/api/v1/jobs?limit=-1",
        "/api/v1/jobs/not-a-job-id",
        "/api/v1/jobs/pipe_01ARZ3NDEKTSV4RRFFQ69G5FAV",  # an id, of the wrong kind
        f"/api/v1/jobs/job_01ARZ3NDEKTSV4RRFFQ69G5FAV/logs?limit={MAX_PAGE_SIZE + 1}",  # metrics process
    ],
)
def test_query_limits_and_ids_are_validated(secured: SecuredPlatform, path: str) -> None:
    with secured.client(secured.read_token) as client:
        response = client.get(path)
    assert response.status_code == 400, response.text[:500]


@pytest.mark.parametrize("field", ["job_id", "sort", "pipeline_id", "query"])
def test_caller_input_quoted_in_an_error_is_bounded(secured: SecuredPlatform, field: str) -> None:
    """An error quoting the caller's input whole would carry it in the status message, past
    gRPC's metadata size limit (8 KiB soft: refused at random; 16 KiB hard: always): the caller
    would get RESOURCE_EXHAUSTED 'Stream removed' (REST 429) instead of INVALID_ARGUMENT.
    Quotes are cut (`api_errors.quoted`), and so is every status message (planner errors quote
    identifiers and option values)."""
    # 60,000 characters: far past the hard metadata limit (so not a coin toss), far within
    # MAX_MESSAGE_BYTES and the SQL length (so the request itself is fine).
    long = "x" * 60_000
    read = (("authorization", f"Bearer {secured.read_token}"),)
    admin = (("authorization", f"Bearer {secured.admin_token}"),)
    with grpc.insecure_channel(secured.grpc_address) as channel:
        jobs = jobs_pb2_grpc.JobServiceStub(channel)
        pipelines = pipelines_pb2_grpc.PipelineServiceStub(channel)
        with pytest.raises(grpc.RpcError) as refused:
            if field == "job_id":
                jobs.GetJob(jobs_pb2.GetJobRequest(job_id=long), metadata=read, timeout=10)
            elif field == "sort":
                jobs.ListJobs(jobs_pb2.ListJobsRequest(sort=long), metadata=read, timeout=10)
            elif field == "pipeline_id":
                get = pipelines_pb2.GetPipelineRequest(pipeline_id=long)
                pipelines.GetPipeline(get, metadata=read, timeout=10)
            else:
                table = f"CREATE TABLE t WITH (connector = 'impulse', event_rate = '{long}');\n"
                create = pipelines_pb2.CreatePipelineRequest(name="long", query=table + "SELECT * FROM t")
                pipelines.CreatePipeline(create, metadata=admin, timeout=10)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT, refused.value.details()[:500]
    assert len(refused.value.details()) <= MAX_STATUS_MESSAGE_CHARS


def test_an_oversized_token_is_refused_without_being_looked_up(secured: SecuredPlatform) -> None:
    with secured.client("t" * (MAX_TOKEN_CHARS + 1)) as client:
        assert client.get("/api/v1/jobs").status_code == 401


def test_oversized_headers_are_refused_by_the_gateway(secured: SecuredPlatform) -> None:
    with secured.client(secured.read_token) as client:
        response = client.get("/api/v1/jobs", headers={"X-Padding": "p" * 16 * 1024})
    assert response.status_code in (400, 431), response.text[:200]


def test_grpc_messages_are_bounded(secured: SecuredPlatform) -> None:
    admin = (("authorization", f"Bearer {secured.admin_token}"),)
    request = pipelines_pb2.ValidatePipelineRequest(query="x" * (MAX_MESSAGE_BYTES + 1))
    with (
        grpc.insecure_channel(
            secured.grpc_address, options=[("grpc.max_send_message_length", 2 * MAX_MESSAGE_BYTES)]
        ) as channel,
        pytest.raises(grpc.RpcError) as error,
    ):
        pipelines_pb2_grpc.PipelineServiceStub(channel).ValidatePipeline(request, metadata=admin, timeout=30)
    assert error.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
