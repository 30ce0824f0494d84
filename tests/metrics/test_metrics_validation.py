"""Bad input on every query RPC: malformed ids and limits are INVALID_ARGUMENT, unknown jobs
and operators NOT_FOUND, never INTERNAL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
import pytest

from weir.v1 import logs_pb2, metrics_pb2, telemetry_pb2

from .harness import JOB, UNKNOWN_JOB, MetricsServer

Call = Callable[[MetricsServer, str], Any]

CALLS: dict[str, Call] = {
    "metrics": lambda s, job: s.metrics.GetJobMetrics(metrics_pb2.GetJobMetricsRequest(job_id=job)),
    "operator": lambda s, job: s.metrics.GetOperatorMetrics(
        metrics_pb2.GetOperatorMetricsRequest(job_id=job, operator_id="source_1")
    ),
    "groups": lambda s, job: s.metrics.GetJobMetricGroups(metrics_pb2.GetJobMetricGroupsRequest(job_id=job)),
    "output": lambda s, job: s.metrics.GetJobOutput(metrics_pb2.GetJobOutputRequest(job_id=job)),
    "errors": lambda s, job: s.logs.ListJobErrors(logs_pb2.ListJobErrorsRequest(job_id=job)),
    "logs": lambda s, job: s.logs.ListJobLogs(logs_pb2.ListJobLogsRequest(job_id=job)),
}


def _status(call: Callable[[], Any]) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as raised:
        call()
    return raised.value.code(), raised.value.details()


@pytest.mark.parametrize("name", list(CALLS))
@pytest.mark.parametrize("job_id", ["", "job_123", "pipe_01JDX3N4Q5R6S7T8V9W0X1Y2Z3", "x" * 10_000])
def test_malformed_job_id(server: MetricsServer, name: str, job_id: str) -> None:
    code, details = _status(lambda: CALLS[name](server, job_id))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "malformed job_id" in details
    assert len(details) < 200


@pytest.mark.parametrize("name", list(CALLS))
def test_unknown_job(server: MetricsServer, name: str) -> None:
    code, details = _status(lambda: CALLS[name](server, UNKNOWN_JOB))
    assert (code, details) == (grpc.StatusCode.NOT_FOUND, f"job {UNKNOWN_JOB} not found")


@pytest.mark.parametrize("name", list(CALLS))
def test_known_job(server: MetricsServer, name: str) -> None:
    CALLS[name](server, JOB)


def test_unknown_operator(server: MetricsServer) -> None:
    code, _ = _status(
        lambda: server.metrics.GetOperatorMetrics(
            metrics_pb2.GetOperatorMetricsRequest(job_id=JOB, operator_id="map_9")
        )
    )
    assert code == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize("limit", [0, -5, 1001])
def test_limit_out_of_bounds(server: MetricsServer, limit: int) -> None:
    for call in (
        lambda: server.logs.ListJobErrors(logs_pb2.ListJobErrorsRequest(job_id=JOB, limit=limit)),
        lambda: server.logs.ListJobLogs(logs_pb2.ListJobLogsRequest(job_id=JOB, limit=limit)),
        lambda: server.metrics.GetJobOutput(metrics_pb2.GetJobOutputRequest(job_id=JOB, limit=limit)),
    ):
        code, details = _status(call)
        assert code == grpc.StatusCode.INVALID_ARGUMENT
        assert details == f"limit must be between 1 and 1000, got {limit}"


def test_summarize_is_bounded_and_ignores_unknown_ids(server: MetricsServer) -> None:
    response = server.telemetry.SummarizeJobs(
        telemetry_pb2.SummarizeJobsRequest(job_ids=[JOB, UNKNOWN_JOB, "garbage"])
    )
    assert dict(response.counters) == {}
    code, details = _status(
        lambda: server.telemetry.SummarizeJobs(telemetry_pb2.SummarizeJobsRequest(job_ids=[JOB] * 1001))
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "at most 1000" in details


def test_operator_id_is_required(server: MetricsServer) -> None:
    code, details = _status(
        lambda: server.metrics.GetOperatorMetrics(metrics_pb2.GetOperatorMetricsRequest(job_id=JOB))
    )
    assert (code, details) == (grpc.StatusCode.INVALID_ARGUMENT, "operator_id is required")
