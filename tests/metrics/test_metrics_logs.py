"""`ListJobErrors` and `ListJobLogs`: newest first, filters combined with AND, bounded pages."""

from __future__ import annotations

import grpc
import pytest

from services.ids import is_valid_id, new_id
from services.store import JobLogStore, LogRetention, Store
from weir.v1 import logs_pb2, metrics_pb2

from .harness import (
    JOB,
    SOURCE,
    UNKNOWN_JOB,
    JobDatabase,
    ManualClock,
    MetricsServer,
    error_record,
    log_record,
    plan,
    report,
    subtask,
)

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


def test_errors_are_bounded_by_retention(clock: ManualClock) -> None:
    running = MetricsServer(
        {JOB: plan()}, clock, retention=LogRetention(max_entries=3, max_age_ms=None)
    ).start()
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


def test_logs_and_errors_outlive_the_server(clock: ManualClock, database: JobDatabase) -> None:
    first = MetricsServer({}, clock, database=database).start()
    try:
        first.send(
            report(
                "wrk_a",
                1,
                errors=[error_record(1000.0, ERROR, "source_1", "e1")],
                logs=[log_record(2000.0, INFO, "source_1", 0, "connected")],
            )
        )
    finally:
        first.stop()
    second = MetricsServer({}, clock, database=database).start()
    try:
        assert [e.message for e in _errors(second).data] == ["e1"]
        [entry] = _logs(second).data
        assert (entry.message, entry.task_index, dict(entry.details)) == (
            "connected",
            0,
            {"broker": "localhost:9092"},
        )
    finally:
        second.stop()


def test_a_resent_report_stores_its_entries_once(server: MetricsServer) -> None:
    sent = report("wrk_a", 1, errors=[error_record(1000.0, ERROR, "source_1", "e1")])
    sent.errors[0].error.id = new_id("err")
    # Acknowledged on one stream, resent on another (as after a reconnect): stored once.
    assert server.send(sent) == [1]
    assert server.send(sent) == [1]
    assert [e.message for e in _errors(server).data] == ["e1"]


def test_entries_of_unknown_jobs_are_dropped_and_the_rest_kept(server: MetricsServer) -> None:
    server.send(
        report(
            "wrk_a",
            1,
            errors=[
                error_record(1000.0, ERROR, "source_1", "of an unknown job", job_id=UNKNOWN_JOB),
                error_record(2000.0, ERROR, "source_1", "kept"),
            ],
        )
    )
    assert [e.message for e in _errors(server).data] == ["kept"]


def test_a_report_whose_logs_cannot_be_stored_is_not_acknowledged(
    clock: ManualClock, database: JobDatabase
) -> None:
    # A read-only store refuses every write: a real store failure, without a fake.
    read_only = Store(database.store_url, read_only=True)
    database.job_logs = JobLogStore(read_only, LogRetention(max_age_ms=None))
    running = MetricsServer({}, clock, database=database).start()
    try:
        stream = running.stream()
        with pytest.raises(grpc.RpcError) as raised:
            stream.send(
                report(
                    "wrk_a",
                    1,
                    subtasks=[subtask("source_1", 0, SOURCE, records_out=5)],
                    logs=[log_record(1000.0, INFO, "source_1", 0, "connected")],
                )
            )
        stream.abandon()
        assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
        # Nothing of it was applied, so its resend will be.
        metrics = running.metrics.GetJobMetrics(metrics_pb2.GetJobMetricsRequest(job_id=JOB))
        assert metrics.records_in == 0
        assert running.send(report("wrk_a", 1, subtasks=[subtask("source_1", 0, SOURCE, records_out=5)])) == [
            1
        ]
    finally:
        running.stop()
        read_only.close()
