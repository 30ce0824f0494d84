"""Limits and checks that had no test of their own, proved in-process against the real
functions, servicer parts and stores (no platform, no mocks): token and secret handling,
TLS settings, the planner's SQL bounds and connector option ranges, the ID pattern, the
bounds that keep telemetry finite on both sides of the Report stream, and the restart budget.

docs: the full list of limits, where each is enforced and which test proves it, is in
README.md ("Limits"); gaps found by the audit and still open are the strict xfails of
test_limit_gaps.py."""

from __future__ import annotations

import asyncio
import hmac
import json
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import cast

import grpc
import pytest

from services.api_errors import ApiError
from services.cli import build_parser
from services.controller.api import pipelines as pipelines_api
from services.controller.api.control_plane import ControlPlaneServicer
from services.controller.api.pipelines import MAX_QUERY_BYTES, plan_in_thread
from services.controller.api.pipelines import plan as controller_plan
from services.controller.checkpointing.coordinator import CheckpointCoordinator
from services.controller.job_log import JobLog
from services.controller.lifecycle.context import JobContext
from services.controller.lifecycle.events import StopRequested
from services.controller.lifecycle.states import recovering
from services.controller.lifecycle.states.recovering import MAX_RESTARTS, RESTART_WINDOW_S
from services.controller.lifecycle.supervisor import JobSupervisors
from services.controller.workers import WorkerRegistry
from services.ids import PREFIXES, is_valid_id, new_id
from services.metrics.aggregates import TelemetryStore
from services.metrics.limits import TelemetryLimits
from services.paths import PathPolicy
from services.planner import PlanError, plan_query
from services.planner.connectors import MAX_NEXMARK_WHOLE_NUMBER
from services.planner.dataflow_builder import MAX_PLAN_OPERATORS
from services.planner.plan import MAX_QUERY_CHARS
from services.security import api_tokens as api_tokens_module
from services.security.api_tokens import ApiTokens, Role, token_sha256_hex
from services.security.cluster_secret import MIN_SECRET_CHARS, ClusterSecret, ClusterSecretError
from services.security.method_access import Access, access_by_method, access_for
from services.security.process_security import RefusedToStart, security_from_args
from services.security.server_tls import ServerTls
from services.store import JobLogStore, PipelineRecord, Store
from services.worker.engine.operators.blackhole_sink import MAX_WRITE_DELAY_MS
from services.worker.engine.telemetry_buffer import (
    MAX_ERROR_RECORDS_PER_REPORT,
    MAX_MESSAGE_CHARS,
    ErrorLevel,
    LogLevel,
    TelemetryBuffer,
)
from services.worker.telemetry_stream import MAX_UNACKED, TelemetryStream
from tests.metrics.harness import JOB, JobDatabase, ManualClock, SyncIngest, plan, report, subtask
from tests.security.test_tls import self_signed_certificate
from weir.v1 import control_plane_pb2, dataflow_pb2, logs_pb2, telemetry_pb2

IMPULSE = "CREATE TABLE impulse WITH (connector = 'impulse', event_rate = '10');\n"


# --- API tokens: constant-time comparison against every entry -----------------------------


@pytest.fixture
def compare_digest_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[bytes, bytes]]:
    """A record of every `hmac.compare_digest` call `api_tokens` makes; the real function still
    answers (a spy, not a stand-in)."""
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(api_tokens_module.hmac, "compare_digest", spy)
    return calls


@pytest.mark.parametrize("presented", ["first", "last", "unknown"])
def test_a_token_is_compared_by_hash_against_every_entry_matched_or_not(
    compare_digest_calls: list[tuple[bytes, bytes]], presented: str
) -> None:
    """Timing does not depend on which entry matched, or whether one did: every entry is
    compared, in constant time, and only SHA-256 digests are compared (never the token)."""
    names = ["first", *(f"middle-{i}" for i in range(8)), "last"]
    tokens = ApiTokens(env_text=",".join(f"read {token_sha256_hex(name)}" for name in names))
    tokens.role_of(presented)
    assert len(compare_digest_calls) == len(names)
    digest = bytes.fromhex(token_sha256_hex(presented))
    assert all(a == digest and len(b) == 32 for a, b in compare_digest_calls)


def test_only_digests_are_kept_in_memory() -> None:
    token = "a-token-that-must-not-be-kept"
    tokens = ApiTokens(env_text=f"admin {token_sha256_hex(token)} ops")
    assert tokens.role_of(token) is Role.ADMIN
    kept = repr(tokens._current_entries())  # what the process holds
    assert token not in kept and token_sha256_hex(token) not in kept  # bytes of the digest only


# --- Cluster secret -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "s" * (MIN_SECRET_CHARS - 1),  # too short
        "with a space" + "s" * MIN_SECRET_CHARS,  # metadata values cannot hold it safely
        "non-ascii-é" + "s" * MIN_SECRET_CHARS,
        "control-\x07" + "s" * MIN_SECRET_CHARS,
    ],
    ids=["short", "space", "non-ascii", "control-char"],
)
def test_an_unusable_cluster_secret_is_refused(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ClusterSecretError):
        ClusterSecret(value)
    # And the process refuses to start with it (the environment twin of --cluster-secret-file).
    monkeypatch.setenv("WEIR_CLUSTER_SECRET", value)
    with pytest.raises(RefusedToStart):
        security_from_args(build_parser().parse_args(["worker", "--controller", "a:1", "--metrics", "a:1"]))


def test_a_cluster_secret_matches_only_exactly() -> None:
    secret = ClusterSecret.generate()
    assert len(secret.value) >= MIN_SECRET_CHARS
    assert secret.matches(secret.value) and secret.matches(secret.value.encode())
    for wrong in (secret.value[:-1], secret.value + "x", secret.value.upper(), ""):
        assert not secret.matches(wrong)
    assert ClusterSecret.generate().value != secret.value


# --- Method access: what each method needs --------------------------------------------------


def test_every_internal_method_needs_the_cluster_secret_and_unknown_ones_too() -> None:
    table = access_by_method()
    internal = {
        "ControlPlaneService",
        "TelemetryService",
        "WorkerService",
        "ShuffleService",
    }
    for method, access in table.items():
        service = method.split("/")[1].removeprefix("weir.v1.")
        if service in internal:
            assert access is Access.CLUSTER, method
        else:
            assert access in (Access.READ, Access.ADMIN), method
    # A weir.v1 method this build does not know gets the strictest rule; health and
    # reflection (outside weir.v1) stay open for probes and tooling.
    assert access_for("/weir.v1.SomeFutureService/Do") is Access.CLUSTER
    assert access_for("/grpc.health.v1.Health/Check") is Access.OPEN
    assert access_for("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo") is Access.OPEN


# --- TLS --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed_certificate(tmp_path_factory.mktemp("cert"))


def test_tls_refuses_protocols_older_than_tls_1_2(certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    context = ServerTls(cert, key).ssl_context()
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2
    ServerTls(cert, key).grpc_credentials()  # the front door's credentials load from the same files


@pytest.mark.parametrize("broken", ["missing-cert", "missing-key", "key-is-the-cert"])
def test_an_unusable_certificate_refuses_to_start(
    certificate: tuple[Path, Path], tmp_path: Path, broken: str
) -> None:
    cert, key = certificate
    if broken == "missing-cert":
        cert = tmp_path / "absent.pem"
    elif broken == "missing-key":
        key = tmp_path / "absent.pem"
    else:
        key = cert
    args = build_parser().parse_args(["gateway", "--controller", "a:1", "--metrics", "a:1"])
    args.tls_cert, args.tls_key = cert, key
    with pytest.raises(RefusedToStart, match="weir gateway"):
        security_from_args(args)


# --- SQL: length, nesting -------------------------------------------------------------------


def test_the_sql_bound_counts_bytes_not_characters(tmp_path: Path) -> None:
    """64 KiB of UTF-8: 22,000 three-byte characters are under 64 Ki characters but over the bound."""
    query = IMPULSE + "SELECT counter FROM impulse -- " + "€" * 22_000
    assert len(query) < MAX_QUERY_BYTES < len(query.encode())
    with pytest.raises(ApiError) as refused:
        controller_plan(query, 1, PathPolicy([tmp_path]))
    assert refused.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert f"longer than {MAX_QUERY_BYTES} bytes" in refused.value.message


def test_the_planner_has_its_own_length_bound(tmp_path: Path) -> None:
    """Behind the API's 64 KiB, the planner refuses anything past MAX_QUERY_CHARS before parsing
    (a stored query is planned again on restart)."""
    with pytest.raises(PlanError, match=f"longer than {MAX_QUERY_CHARS}"):
        plan_query("x" * (MAX_QUERY_CHARS + 1), 1, PathPolicy([tmp_path]))


@pytest.mark.parametrize(
    "select",
    [
        "SELECT " + "(" * 3000 + "counter" + ")" * 3000 + " AS c FROM impulse",  # the parser recurses
        "SELECT counter" + " + 1" * 3000 + " AS c FROM impulse",  # the expression compiler recurses
        "SELECT counter FROM impulse WHERE " + " AND ".join(["counter > 1"] * 2000),
        # The planner recurses into the branches.
        "SELECT counter FROM impulse" + " UNION ALL SELECT counter FROM impulse" * 1500,
    ],
    ids=["parentheses", "operator-chain", "conjunction", "union-branches"],
)
def test_deep_sql_is_a_plan_error_not_a_crash(tmp_path: Path, select: str) -> None:
    query = IMPULSE + select
    assert len(query.encode()) <= MAX_QUERY_BYTES
    with pytest.raises(ApiError) as refused:
        controller_plan(query, 1, PathPolicy([tmp_path]))
    assert refused.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "too deeply nested" in refused.value.message


def test_the_operators_of_a_plan_are_bounded(tmp_path: Path) -> None:
    """Well within the SQL length, a query can plan thousands of operators (seconds of the
    controller's CPU at 64 KiB): the planner stops at MAX_PLAN_OPERATORS."""
    per_select = len(plan_query(IMPULSE + "SELECT counter FROM impulse", 1, PathPolicy([tmp_path])).operators)
    selects = MAX_PLAN_OPERATORS // per_select
    within = IMPULSE + ";\n".join(["SELECT counter FROM impulse"] * selects)
    assert len(plan_query(within, 1, PathPolicy([tmp_path])).operators) <= MAX_PLAN_OPERATORS
    beyond = IMPULSE + ";\n".join(["SELECT counter FROM impulse"] * (selects + 1))
    assert len(beyond.encode()) <= MAX_QUERY_BYTES
    with pytest.raises(ApiError) as refused:
        controller_plan(beyond, 1, PathPolicy([tmp_path]))
    assert refused.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert f"more than {MAX_PLAN_OPERATORS} operators; at most {MAX_PLAN_OPERATORS}" in refused.value.message
    # Every operator of a plan that is accepted gets metrics.
    assert TelemetryLimits().operators_per_job >= MAX_PLAN_OPERATORS


def test_planning_runs_off_the_event_loop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Create, validate and restart plan in a thread: the controller's event loop (workers'
    heartbeats, every other call) goes on while a query is planned. Here the plan can only
    finish once the loop has run something else meanwhile."""
    started, release = threading.Event(), threading.Event()
    real_plan_query = pipelines_api.plan_query

    def plan_waiting_for_the_loop(query: str, parallelism: int, paths: PathPolicy) -> dataflow_pb2.Dataflow:
        started.set()
        assert release.wait(timeout=10), "the event loop did not run while the query was planned"
        return real_plan_query(query, parallelism, paths)

    monkeypatch.setattr(pipelines_api, "plan_query", plan_waiting_for_the_loop)

    async def scenario() -> dataflow_pb2.Dataflow:
        planned = asyncio.create_task(
            plan_in_thread(IMPULSE + "SELECT counter FROM impulse", 1, PathPolicy([tmp_path]))
        )
        assert await asyncio.to_thread(started.wait, 10)
        release.set()  # the loop runs this while the plan waits
        return await planned

    assert len(asyncio.run(scenario()).operators) > 0


# --- Connector options: types and ranges ----------------------------------------------------


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("connector = 'blackhole', write_delay_ms = '-1'", "write_delay_ms must be"),
        (
            f"connector = 'blackhole', write_delay_ms = '{MAX_WRITE_DELAY_MS + 1:.0f}'",
            "write_delay_ms must be",
        ),
        ("connector = 'blackhole', write_delay_ms = 'nan'", "write_delay_ms must be"),
        ("connector = 'blackhole', write_delay_ms = 'soon'", "write_delay_ms must be"),
        ("connector = 'blackhole', delay = '1'", "unknown option 'delay'"),
    ],
)
def test_sink_options_are_checked_for_type_and_range(tmp_path: Path, table: str, message: str) -> None:
    query = IMPULSE + f"CREATE TABLE out WITH ({table});\nINSERT INTO out SELECT counter FROM impulse"
    with pytest.raises(PlanError, match=message):
        plan_query(query, 1, PathPolicy([tmp_path]))


def test_the_largest_write_delay_is_accepted(tmp_path: Path) -> None:
    query = (
        IMPULSE
        + f"CREATE TABLE out WITH (connector = 'blackhole', write_delay_ms = '{MAX_WRITE_DELAY_MS:.0f}');\n"
        "INSERT INTO out SELECT counter FROM impulse"
    )
    plan_query(query, 1, PathPolicy([tmp_path]))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ("connector = 'impulse', event_rate = 'nan'", "event_rate must be"),
        ("connector = 'impulse', event_rate = 'inf'", "event_rate must be"),
        ("connector = 'impulse', event_rate = '1e400'", "event_rate must be"),  # overflows to inf
        ("connector = 'impulse', event_rate = '1', message_count = '-1'", "message_count must be"),
        ("connector = 'nexmark', event_rate = '-1'", "event_rate must be"),
        ("connector = 'nexmark', event_rate = 'nan'", "event_rate must be"),
        ("connector = 'nexmark', event_rate = '1', events = '1.5'", "events must be a whole number"),
        ("connector = 'nexmark', event_rate = '1', events = '-1'", "events must be a whole number"),
        ("connector = 'nexmark', event_rate = '1', seed = '-1'", "seed must be a whole number"),
        # The generator's seed is a uint64, and the source reads it through a float.
        (f"connector = 'nexmark', event_rate = '1', seed = '{2**64}'", "seed must be a whole number from 0"),
        (
            f"connector = 'nexmark', event_rate = '1', seed = '{MAX_NEXMARK_WHOLE_NUMBER + 1}'",
            "seed must be a whole number from 0",
        ),
        ("connector = 'nexmark', event_rate = '1', seed = '1" + "0" * 400 + "'", "seed must be"),  # no float
        ("connector = 'nexmark', event_rate = '1', events = '1" + "0" * 400 + "'", "events must be"),
        ("connector = 'nexmark', event_rate = '1', first_event_rate = '0'", "first_event_rate must be > 0"),
        ("connector = 'nexmark', event_rate = '1', rate = '2'", "unknown option 'rate'"),
        ("connector = 'nexmark'", "needs option event_rate"),
    ],
)
def test_source_options_are_checked_for_type_and_range(tmp_path: Path, options: str, message: str) -> None:
    with pytest.raises(PlanError, match=message):
        plan_query(f"CREATE TABLE t WITH ({options});\nSELECT * FROM t", 1, PathPolicy([tmp_path]))


def test_the_largest_nexmark_seed_and_events_are_accepted(tmp_path: Path) -> None:
    largest = MAX_NEXMARK_WHOLE_NUMBER
    options = f"connector = 'nexmark', event_rate = '1', seed = '{largest}', events = '{largest}'"
    plan_query(f"CREATE TABLE t WITH ({options});\nSELECT * FROM t", 1, PathPolicy([tmp_path]))


# --- IDs ----------------------------------------------------------------------------------------


def test_ids_are_checked_against_their_pattern() -> None:
    for prefix in sorted(PREFIXES):
        good = new_id(prefix)
        assert is_valid_id(good, prefix)
        body = good.split("_", 1)[1]
        other = "job" if prefix != "job" else "pipe"
        assert not is_valid_id(f"{other}_{body}", prefix)  # the wrong kind
    body = new_id("job").split("_", 1)[1]
    bad = [
        "",
        "job_",
        f"job_{body[:-1]}",  # 25 characters
        f"job_{body}0",  # 27
        f"job_{body.lower()}",  # Crockford base32 is upper case here
        "job_" + "I" * 26,  # I, L, O and U are not in the alphabet
        "job_" + "U" * 26,
        "job_" + "٣" * 26,  # digits of another script
        f" job_{body}",
        f"job_{body} ",
        f"job_{body}\n",  # `$` would match before it
        f"job_{body[:13]}/../{body[13:]}",
        f"job_{body}'; DROP TABLE jobs; --",
    ]
    for value in bad:
        assert not is_valid_id(value, "job"), repr(value)


# --- The metrics service's telemetry bounds ---------------------------------------------------


@pytest.fixture
def database(tmp_path: Path) -> Iterator[JobDatabase]:
    opened = JobDatabase(tmp_path, {JOB: plan()})
    try:
        yield opened
    finally:
        opened.close()


def ingest_with(database: JobDatabase, **limits: int) -> tuple[TelemetryStore, Callable[..., int]]:
    store = TelemetryStore(TelemetryLimits(**limits), ManualClock())
    return store, SyncIngest(store, database).apply


def test_operators_per_job_are_bounded(database: JobDatabase) -> None:
    store, apply = ingest_with(database, operators_per_job=2)
    apply(
        report(
            "wrk_a",
            1,
            subtasks=[subtask(f"op_{i}", 0, telemetry_pb2.SubtaskReport.ROLE_TRANSFORM) for i in range(5)],
            preview=[
                telemetry_pb2.PreviewBatch(job_id=JOB, operator_id=f"sink_{i}", received=1) for i in range(5)
            ],
        )
    )
    job = store.job(JOB)
    assert job is not None
    assert sorted(job.operators) == ["op_0", "op_1"]
    assert len(job.previews) == 2


def test_preview_rows_over_the_size_bound_are_counted_not_kept(database: JobDatabase) -> None:
    store, apply = ingest_with(database, preview_row_bytes=32)
    small, large = '{"a": 1}', json.dumps({"a": "x" * 32})
    apply(
        report(
            "wrk_a",
            1,
            preview=[
                telemetry_pb2.PreviewBatch(
                    job_id=JOB, operator_id="sink_3", rows_json=[small, large], received=2
                )
            ],
        )
    )
    job = store.job(JOB)
    assert job is not None
    buffer = job.previews["sink_3"]
    assert [row.row_json for row in buffer.page(0, 10)] == [small]
    assert buffer.total_received == 2


def test_latency_histograms_over_the_bucket_bound_are_dropped(database: JobDatabase) -> None:
    store, apply = ingest_with(database, histogram_buckets=4)
    role = telemetry_pb2.SubtaskReport.ROLE_SINK
    too_many = subtask("sink_3", 0, role, latency_bounds_ms=[1.0, 2.0, 3.0, 4.0], latency_counts=[1] * 5)
    within = subtask("sink_3", 0, role, latency_bounds_ms=[1.0, 2.0, 3.0], latency_counts=[0, 2, 0, 0])
    apply(report("wrk_a", 1, subtasks=[too_many]))
    job = store.job(JOB)
    assert job is not None and job.latency.percentile(0.5) == 0.0  # nothing was added
    apply(report("wrk_a", 2, subtasks=[within]))
    assert job.latency.percentile(0.5) > 0.0


def test_reported_log_text_is_bounded(database: JobDatabase) -> None:
    """Message, details and operator id of a reported log entry are cut to their bounds before
    they reach the store (errors: tests/metrics/test_metrics_parts.py::test_error_text_is_truncated)."""
    _, apply = ingest_with(database, record_text_chars=16)
    entry = logs_pb2.LogEntry(
        timestamp=1.0, level=logs_pb2.LogEntry.info, operator_id="o" * 500, message="m" * 100
    )
    entry.details.update({"blob": "d" * 100})
    apply(report("wrk_a", 1, logs=[telemetry_pb2.JobLogRecord(job_id=JOB, entry=entry)]))
    [stored], _ = database.job_logs.list_logs(JOB)
    assert stored.message == "m" * 16
    assert len(stored.operator_id) == 128
    assert set(stored.details) == {"truncated"}


# --- The controller's own job log entries ------------------------------------------------------


def test_the_controllers_job_log_entries_are_bounded(tmp_path: Path) -> None:
    """The controller's entries quote workers' text (a failed task's error): message and text
    details are cut to the bound the metrics service applies to the workers' own entries."""
    store = Store(f"sqlite:///{tmp_path / 'weir.db'}")
    try:
        store.migrate()
        pipeline = PipelineRecord("pipe_" + "0" * 26, "p", "SELECT 1", 1, 10_000, 1.0, b"")
        store.create_pipeline(pipeline)
        job_id = new_id("job")
        store.create_job(pipeline.id, job_id, 1, 1.0, dataflow=b"")
        reason = "x" * 100_000
        job_log = JobLog(store, clock=lambda: 2.0)
        asyncio.run(job_log.write(job_id, "error", f"failed: {reason}", {"failure_message": reason, "n": 1}))
        [entry], _ = JobLogStore(store).list_logs(job_id)
        bound = TelemetryLimits().record_text_chars
        assert len(entry.message) <= bound and entry.message.endswith("(truncated)")
        assert len(entry.details["failure_message"]) <= bound and entry.details["n"] == 1
    finally:
        store.close()


class RecordingSupervisors:
    """Stands in for `JobSupervisors`, keeping the task events the control plane passes on."""

    def __init__(self) -> None:
        self.events: list[control_plane_pb2.TaskEvent] = []

    def task_event(self, event: control_plane_pb2.TaskEvent) -> None:
        self.events.append(event)


def test_a_failed_tasks_text_is_bounded_where_it_enters_the_controller() -> None:
    """A task's failure text becomes the job's recovery cause, a log entry and maybe its
    failure_message in the jobs table: it is cut as the worker's report arrives."""
    supervisors = RecordingSupervisors()
    servicer = ControlPlaneServicer(WorkerRegistry(), cast(JobSupervisors, supervisors))
    event = control_plane_pb2.TaskEvent(
        job_id=new_id("job"),
        task_id="task_1",
        kind=control_plane_pb2.TaskEvent.KIND_FAILED,
        message="y" * 100_000,
    )
    request = control_plane_pb2.ReportTaskEventRequest(event=event)
    asyncio.run(servicer.ReportTaskEvent(request, cast(grpc.aio.ServicerContext, None)))
    [passed] = supervisors.events
    assert len(passed.message) <= TelemetryLimits().record_text_chars
    assert passed.message.startswith("y" * 100) and passed.message.endswith("(truncated)")


# --- The worker's side: what one report may carry ---------------------------------------------


def test_errors_per_report_are_bounded_and_the_drop_is_reported() -> None:
    buffer = TelemetryBuffer()
    for i in range(MAX_ERROR_RECORDS_PER_REPORT + 7):
        buffer.error("job_a", f"bad record {i}", "source_1", 0, record="{}", level=ErrorLevel.warning)
    drained = buffer.drain()
    assert len(drained.errors) == MAX_ERROR_RECORDS_PER_REPORT
    [notice] = drained.logs
    assert notice.entry.level == LogLevel.warn and "0 log and 7 error records" in notice.entry.message


def test_worker_log_messages_are_truncated() -> None:
    buffer = TelemetryBuffer()
    buffer.log("job_a", LogLevel.info, "x" * (MAX_MESSAGE_CHARS * 3))
    buffer.error("job_a", "y" * (MAX_MESSAGE_CHARS * 3), "source_1", 0, details="z" * 100_000)
    drained = buffer.drain()
    assert len(drained.logs[0].entry.message) == MAX_MESSAGE_CHARS
    assert len(drained.errors[0].error.message) == MAX_MESSAGE_CHARS
    assert len(drained.errors[0].error.details) <= MAX_MESSAGE_CHARS


def test_the_unacknowledged_telemetry_backlog_is_bounded() -> None:
    """With the metrics service unreachable, a worker keeps at most MAX_UNACKED reports, dropping
    the oldest: memory stays bounded however long the outage."""

    async def scenario() -> list[int]:
        buffer = TelemetryBuffer()
        stream = TelemetryStream("127.0.0.1:1", buffer, lambda: "wrk_a")  # never connected
        try:
            for i in range(MAX_UNACKED + 25):
                buffer.log("job_a", LogLevel.info, f"line {i}")
                stream._enqueue()  # what the producer does every REPORT_INTERVAL_S
            return list(stream._unacked)
        finally:
            await stream._channel.close()

    kept = asyncio.run(scenario())
    assert len(kept) == MAX_UNACKED
    assert kept[0] == 26 and kept[-1] == MAX_UNACKED + 25


# --- The restart budget of a failing job ------------------------------------------------------


@pytest.fixture
def recovering_job(tmp_path: Path) -> Iterator[JobContext]:
    """A job's context as the supervisor holds it, over a real store and worker registry."""
    store = Store(f"sqlite:///{tmp_path / 'weir.db'}")
    store.migrate()
    pipeline = PipelineRecord("pipe_" + "0" * 26, "p", "SELECT 1", 1, 10_000, 1.0, b"")
    store.create_pipeline(pipeline)
    job = store.create_job(pipeline.id, new_id("job"), 1, 1.0, dataflow=b"")
    workers = WorkerRegistry()
    coordinator = CheckpointCoordinator(job, store, workers, (tmp_path / "checkpoints").as_uri())
    try:
        yield JobContext(job, dataflow_pb2.Dataflow(), store, workers, coordinator)
    finally:
        store.close()


def test_a_job_that_keeps_failing_gives_up_after_its_restart_budget(recovering_job: JobContext) -> None:
    now = time.monotonic()
    recovering_job.restarts = [now - i for i in range(MAX_RESTARTS)]
    recovering_job.recovery_cause = "task source_1.0 failed: boom"
    transition = asyncio.run(recovering.handle(recovering_job))
    assert transition.to_state == "Failed"
    assert f"gave up after {MAX_RESTARTS} restarts" in (transition.failure_message or "")
    assert "boom" in (transition.failure_message or "")


def test_restarts_older_than_the_window_do_not_count(recovering_job: JobContext) -> None:
    long_ago = time.monotonic() - RESTART_WINDOW_S - 1
    recovering_job.restarts = [long_ago] * (MAX_RESTARTS + 5)
    # A pending stop ends the recovery without its backoff: the budget check is what is tested.
    recovering_job.stop_request = StopRequested("immediate", 30.0)
    transition = asyncio.run(recovering.handle(recovering_job))
    assert transition.to_state == "Stopping"
    assert len(recovering_job.restarts) == 1
