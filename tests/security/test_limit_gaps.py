"""Limits and checks the audit of issue 7 found missing or broken in services/, each pinned by
a test of the behaviour the rule asks for, marked as an expected failure until it is fixed.

`strict=True`: when a fix lands the test passes, pytest reports it as a failure (XPASS), and
the marker must go, so a fixed gap becomes an ordinary regression test. Each reason names
where the fix belongs."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import pytest

from services.cli import build_parser
from services.controller.job_log import JobLog
from services.ids import is_valid_id, new_id
from services.metrics.limits import TelemetryLimits
from services.paths import PathPolicy
from services.planner import PlanError, plan_query
from services.platform import Platform, PlatformConfig
from services.security.process_security import RefusedToStart, security_from_args
from services.serving import MAX_MESSAGE_BYTES
from services.store import JobLogStore, PipelineRecord, Store
from services.worker.engine.telemetry_buffer import (
    MAX_ERROR_RECORDS_PER_REPORT,
    MAX_RECORD_CHARS,
    TelemetryBuffer,
)
from tests.security.conftest import SecuredPlatform
from weir.v1 import jobs_pb2, jobs_pb2_grpc

# What the tests fail with while the gap is open: an assertion, or pytest.raises not raising.
# Anything else (an import error, a crash in the test) is a real failure, not the known gap.
GAP = (AssertionError, pytest.fail.Exception)


@pytest.fixture(autouse=True)
def no_security_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "WEIR_API_TOKENS",
        "WEIR_API_TOKENS_FILE",
        "WEIR_CLUSTER_SECRET",
        "WEIR_CLUSTER_SECRET_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("WEIR_INSECURE", raising=False)


@pytest.mark.xfail(
    strict=True,
    raises=GAP,
    reason="services/ids.py ID_PATTERN ends in `$` and is applied with .match(): `$` also matches "
    "before a final newline, so `job_<26>\\n` passes and reaches the store (REST: "
    "GET /api/v1/jobs/job_<26>%0A is a 404 from the store, not a 400). Use fullmatch or \\Z.",
)
def test_an_id_with_a_trailing_newline_is_malformed() -> None:
    assert not is_valid_id(new_id("job") + "\n", "job")


@pytest.mark.xfail(
    strict=True,
    raises=GAP,
    reason="services/worker/engine/operators/nexmark.py NexmarkOptions.parse/_number: `seed` has "
    "no upper bound (and goes through float, losing digits past 2**53); a seed of 2**64 plans "
    "fine, then the worker's generator raises OverflowError and the job fails at run time.",
)
def test_a_nexmark_seed_out_of_range_is_a_plan_error(tmp_path: Path) -> None:
    query = (
        f"CREATE TABLE n WITH (connector = 'nexmark', event_rate = '1', seed = '{2**64}');\nSELECT * FROM n"
    )
    with pytest.raises(PlanError, match="seed"):
        plan_query(query, 1, PathPolicy([tmp_path]))


@pytest.mark.xfail(
    strict=True,
    raises=GAP,
    reason="services/security/process_security.py security_from_args checks only --host: "
    "`weir metrics --prometheus-host 0.0.0.0` serves the unauthenticated GET /metrics (every "
    "job and operator id) beyond loopback without --insecure.",
)
def test_the_prometheus_listener_follows_the_loopback_rule() -> None:
    args = build_parser().parse_args(["metrics", "--prometheus-port", "0", "--prometheus-host", "0.0.0.0"])
    with pytest.raises(RefusedToStart, match="--insecure"):
        security_from_args(args)


@pytest.mark.xfail(
    strict=True,
    raises=GAP,
    reason="services/platform.py Platform.__init__/start pass `--host <up's host>` to the metrics "
    "service, the controller and the workers, against PlatformConfig's own comment ('internal "
    "listeners stay on loopback'): `weir up --host 0.0.0.0 --tls-cert ...` serves TLS on the "
    "gateway only, while the controller and metrics listen on every interface in plaintext and "
    "accept API tokens for the public services there.",
)
def test_weir_up_keeps_its_internal_listeners_on_loopback(tmp_path: Path) -> None:
    platform = Platform(PlatformConfig(data_dir=tmp_path / "data", host="0.0.0.0"))
    for args in (platform.metrics.args, platform._controller_args):
        assert args[args.index("--host") + 1] == "127.0.0.1", args


@pytest.mark.xfail(
    strict=True,
    raises=GAP,
    reason="services/controller/job_log.py JobLog.write stores the message whole: a task's "
    "failure text (worker -> ReportTaskEvent -> running.py recovery_cause, and the job's "
    "failure_message) reaches the job log and the jobs table unbounded, while the metrics "
    "service cuts reported text to TelemetryLimits.record_text_chars.",
)
def test_the_controllers_job_log_entries_are_bounded(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'weir.db'}")
    try:
        store.migrate()
        pipeline = PipelineRecord("pipe_" + "0" * 26, "p", "SELECT 1", 1, 10_000, 1.0, b"")
        store.create_pipeline(pipeline)
        job_id = new_id("job")
        store.create_job(pipeline.id, job_id, 1, 1.0, dataflow=b"")
        asyncio.run(JobLog(store, clock=lambda: 2.0).write(job_id, "error", "failed: " + "x" * 100_000, {}))
        [entry], _ = JobLogStore(store).list_logs(job_id)
        assert len(entry.message) <= TelemetryLimits().record_text_chars
    finally:
        store.close()


@pytest.mark.xfail(
    strict=True,
    raises=GAP,
    reason="services/worker/engine/telemetry_buffer.py bounds a report in records and characters "
    "(1000 errors x 3 fields x 4096 chars, 1000 logs, 200 preview rows per sink of any size), not "
    "in bytes: a full report can exceed serving.MAX_MESSAGE_BYTES, the Report stream then fails "
    "on it, and the worker resends it on every reconnect until MAX_UNACKED pushes it out.",
)
def test_a_full_telemetry_report_fits_in_one_grpc_message() -> None:
    buffer = TelemetryBuffer()
    text = "€" * MAX_RECORD_CHARS  # 3 bytes each in UTF-8
    for _ in range(MAX_ERROR_RECORDS_PER_REPORT):
        buffer.error(new_id("job"), text, "source_1", 0, details=text, record=text)
    assert buffer.drain().ByteSize() <= MAX_MESSAGE_BYTES


@pytest.mark.xfail(
    strict=True,
    raises=GAP,
    reason="services/controller/api/jobs.py require_job_id and parse_sort, pipelines.py "
    "require_pipeline_id and jobs.py _restore_point quote the caller's value whole in the error "
    "(the metrics service cuts it to 64 chars): the status message then exceeds gRPC's metadata "
    "size limit (8 KiB soft: refused at random; 16 KiB hard: always) and the caller gets "
    "RESOURCE_EXHAUSTED 'Stream removed' (REST 429) instead of INVALID_ARGUMENT.",
)
@pytest.mark.parametrize("field", ["job_id", "sort"])
def test_caller_input_quoted_in_an_error_is_bounded(secured: SecuredPlatform, field: str) -> None:
    # 100,000 characters: far past the hard metadata limit (so not a coin toss), far within
    # MAX_MESSAGE_BYTES (so the request itself is fine).
    read = (("authorization", f"Bearer {secured.read_token}"),)
    with grpc.insecure_channel(secured.grpc_address) as channel:
        jobs = jobs_pb2_grpc.JobServiceStub(channel)
        with pytest.raises(grpc.RpcError) as refused:
            if field == "job_id":
                jobs.GetJob(jobs_pb2.GetJobRequest(job_id="x" * 100_000), metadata=read, timeout=10)
            else:
                jobs.ListJobs(jobs_pb2.ListJobsRequest(sort="x" * 100_000), metadata=read, timeout=10)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT, refused.value.details()
