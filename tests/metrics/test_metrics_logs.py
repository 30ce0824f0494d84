"""`ListJobErrors` and `ListJobLogs`: newest first, filters combined with AND, bounded pages."""

from __future__ import annotations

import grpc
import pytest

from services.ids import is_valid_id
from services.metrics.limits import TelemetryLimits
from weir.v1 import logs_pb2

from .harness import JOB, ManualClock, MetricsServer, error_record, log_record, plan, report

ERROR = logs_pb2.JobError.error
WARNING = logs_pb2.JobError.warning
INFO = logs_pb2.LogEntry.info
WARN = logs_pb2.LogEntry.warn
LOG_ERROR = logs_pb2.LogEntry.error


def _errors(server: MetricsServer, **fields: object) -> logs_pb2.ListJobErrorsResponse:
    return server.logs.ListJobErrors(logs_pb2.ListJobErrorsRequest(job_id=JOB, **fields))


def _logs(server: MetricsServer, **fields: object) -> logs_pb2.ListJobLogsResponse:
    return server.logs.ListJobLogs(logs_pb2.ListJobLogsRequest(job_id=JOB, **fields))


def test_errors_newest_first_with_filters(server: MetricsServer) -> None:
    server.send(
        report(
            "wrk_a",
            1,
            errors=[
                error_record(1000.0, ERROR, "source_1", "e1"),
                error_record(3000.0, WARNING, "filter_2", "w3"),
            ],
        ),
        # Arrives later but happened in between: ordered by timestamp, not arrival.
        report("wrk_b", 1, errors=[error_record(2000.0, ERROR, "filter_2", "e2")]),
    )
    page = _errors(server)
    assert [e.message for e in page.data] == ["w3", "e2", "e1"]
    assert not page.has_more
    first = page.data[-1]
    assert is_valid_id(first.id, "err")
    assert (first.level, first.operator_id, first.details, first.record) == (
        ERROR,
        "source_1",
        "details of e1",
        '{"bad json',
    )

    assert [e.message for e in _errors(server, level=ERROR).data] == ["e2", "e1"]
    assert [e.message for e in _errors(server, operator_id="filter_2").data] == ["w3", "e2"]
    assert [e.message for e in _errors(server, level=ERROR, operator_id="filter_2").data] == ["e2"]
    page = _errors(server, limit=2)
    assert ([e.message for e in page.data], page.has_more) == (["w3", "e2"], True)
    page = _errors(server, limit=3)
    assert ([e.message for e in page.data], page.has_more) == (["w3", "e2", "e1"], False)


def test_default_limit_is_twenty(server: MetricsServer) -> None:
    server.send(
        report("wrk_a", 1, errors=[error_record(float(t), ERROR, "source_1", f"e{t}") for t in range(1, 26)])
    )
    page = _errors(server)
    assert len(page.data) == 20
    assert page.data[0].message == "e25"
    assert page.has_more


def test_error_ring_is_bounded(clock: ManualClock) -> None:
    running = MetricsServer({JOB: plan()}, clock, TelemetryLimits(errors_per_job=3)).start()
    try:
        running.send(
            report(
                "wrk_a", 1, errors=[error_record(float(t), ERROR, "source_1", f"e{t}") for t in range(1, 6)]
            )
        )
        page = _errors(running, limit=10)
        assert [e.message for e in page.data] == ["e5", "e4", "e3"]
    finally:
        running.stop()


def test_logs_with_filters(server: MetricsServer) -> None:
    server.send(
        report(
            "wrk_a",
            1,
            logs=[
                log_record(1000.0, INFO, "source_1", 0, "connected"),
                log_record(2000.0, WARN, "source_1", 1, "slow broker"),
                log_record(3000.0, INFO, "filter_2", 0, "compiled predicate"),
                log_record(4000.0, LOG_ERROR, "sink_3", 0, "write failed"),
            ],
        )
    )
    page = _logs(server)
    assert [e.message for e in page.data] == [
        "write failed",
        "compiled predicate",
        "slow broker",
        "connected",
    ]
    assert is_valid_id(page.data[0].id, "log")
    assert dict(page.data[0].details) == {"broker": "localhost:9092"}

    assert [e.message for e in _logs(server, level=INFO).data] == ["compiled predicate", "connected"]
    assert [e.message for e in _logs(server, operator_id="source_1").data] == ["slow broker", "connected"]
    assert [e.message for e in _logs(server, task_index=0).data] == [
        "write failed",
        "compiled predicate",
        "connected",
    ]
    assert [e.message for e in _logs(server, task_index=1).data] == ["slow broker"]
    # since is inclusive, until exclusive.
    assert [e.message for e in _logs(server, since=2000, until=4000).data] == [
        "compiled predicate",
        "slow broker",
    ]
    assert [e.message for e in _logs(server, since=2000, operator_id="source_1", level=WARN).data] == [
        "slow broker"
    ]
    page = _logs(server, limit=1)
    assert ([e.message for e in page.data], page.has_more) == (["write failed"], True)


def test_a_known_job_without_telemetry_has_no_errors_or_logs(server: MetricsServer) -> None:
    assert list(_errors(server).data) == []
    assert list(_logs(server).data) == []


def test_until_before_since_is_invalid(server: MetricsServer) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        _logs(server, since=2000, until=1000)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
