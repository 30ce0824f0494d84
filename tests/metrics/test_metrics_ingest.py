"""Telemetry over the real bidi stream: exact counts, exactly-once application by sequence,
and which jobs and operators the queries show."""

from __future__ import annotations

import grpc
import pytest

from weir.v1 import metrics_pb2, telemetry_pb2

from .harness import JOB, SINK, SOURCE, TRANSFORM, UNKNOWN_JOB, MetricsServer, report, subtask


def _one_second(seq: int, worker: str = "wrk_a") -> telemetry_pb2.ReportRequest:
    """What worker a might send each second: both source subtasks, one filter, the sink."""
    return report(
        worker,
        seq,
        subtasks=[
            subtask("source_1", 0, SOURCE, records_out=100 * seq, bytes_out=1000 * seq),
            subtask("source_1", 1, SOURCE, records_out=50, bytes_out=500),
            subtask("filter_2", 0, TRANSFORM, records_in=100, records_out=80, warnings=1),
            subtask("sink_3", 0, SINK, records_in=80, bytes_in=800, errors=2),
        ],
    )


def test_counts_are_exact_sums_of_the_deltas(server: MetricsServer) -> None:
    assert server.send(_one_second(1), _one_second(2), _one_second(3)) == [1, 2, 3]
    # A second worker running the other filter subtask.
    assert server.send(
        report("wrk_b", 1, subtasks=[subtask("filter_2", 1, TRANSFORM, records_in=7, records_out=5)])
    ) == [1]

    metrics = server.metrics.GetJobMetrics(metrics_pb2.GetJobMetricsRequest(job_id=JOB))
    assert metrics.records_in == 100 + 200 + 300 + 3 * 50
    assert metrics.records_out == 3 * 80
    assert metrics.bytes_in == 1000 + 2000 + 3000 + 3 * 500
    assert metrics.bytes_out == 3 * 800
    assert metrics.errors == 6
    assert metrics.warnings == 3
    summaries = {op.operator_id: op for op in metrics.operators}
    assert list(summaries) == ["source_1", "filter_2", "sink_3"]
    assert summaries["filter_2"].operator_name == "Filter"
    assert (summaries["filter_2"].records_in, summaries["filter_2"].records_out) == (307, 245)
    assert summaries["sink_3"].errors == 6

    operator = server.metrics.GetOperatorMetrics(
        metrics_pb2.GetOperatorMetricsRequest(job_id=JOB, operator_id="source_1")
    )
    assert operator.subtasks == 2
    assert operator.metrics.records_out == 750
    assert operator.metrics.bytes_out == 7500
    assert [(s.subtask_index, s.records_out) for s in operator.subtask_metrics] == [(0, 600), (1, 150)]

    summary = server.telemetry.SummarizeJobs(telemetry_pb2.SummarizeJobsRequest(job_ids=[JOB, UNKNOWN_JOB]))
    assert set(summary.counters) == {JOB}
    assert summary.counters[JOB].records_in == 750
    assert summary.counters[JOB].records_out == 240
    assert summary.counters[JOB].errors == 6
    assert summary.counters[JOB].warnings == 3


def test_a_resent_report_is_acknowledged_but_not_counted_again(server: MetricsServer) -> None:
    with server.stream() as first:
        assert first.send(_one_second(1)) == 1
        assert first.send(_one_second(2)) == 2
    # The worker reconnects without having seen the ack of 2 and resends from 2.
    with server.stream() as second:
        assert second.send(_one_second(2)) == 2
        assert second.send(_one_second(3)) == 3
        # An old report again, on the same stream: acknowledged as "applied up to 3".
        assert second.send(_one_second(1)) == 3

    metrics = server.metrics.GetJobMetrics(metrics_pb2.GetJobMetricsRequest(job_id=JOB))
    assert metrics.records_in == 100 + 200 + 300 + 3 * 50
    assert metrics.records_out == 3 * 80


def test_sequences_are_per_worker(server: MetricsServer) -> None:
    assert server.send(_one_second(1, "wrk_a"), _one_second(1, "wrk_b")) == [1, 1]
    metrics = server.metrics.GetJobMetrics(metrics_pb2.GetJobMetricsRequest(job_id=JOB))
    assert metrics.records_out == 2 * 80


def test_a_gap_in_sequence_is_applied(server: MetricsServer) -> None:
    assert server.send(_one_second(1), _one_second(5)) == [1, 5]
    metrics = server.metrics.GetJobMetrics(metrics_pb2.GetJobMetricsRequest(job_id=JOB))
    assert metrics.records_out == 2 * 80


@pytest.mark.parametrize("bad", [report("", 1), report("wrk_a", 0)])
def test_a_report_without_worker_or_sequence_is_refused(
    server: MetricsServer, bad: telemetry_pb2.ReportRequest
) -> None:
    stream = server.stream()
    with pytest.raises(grpc.RpcError) as raised:
        stream.send(bad)
    stream.abandon()
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_bad_items_are_dropped_and_the_rest_applied(server: MetricsServer) -> None:
    bad_histogram = subtask(
        "sink_3", 0, SINK, records_in=5, latency_bounds_ms=[10, 5], latency_counts=[1, 1, 1]
    )
    acks = server.send(
        report(
            "wrk_a",
            1,
            subtasks=[
                subtask("source_1", 0, SOURCE, job_id="job_not-a-ulid", records_out=999),
                subtask("", 0, SOURCE, records_out=999),
                bad_histogram,
                subtask("source_1", 0, SOURCE, records_out=10),
            ],
        )
    )
    assert acks == [1]
    metrics = server.metrics.GetJobMetrics(metrics_pb2.GetJobMetricsRequest(job_id=JOB))
    assert (metrics.records_in, metrics.records_out) == (10, 5)
    assert metrics.latency_p50 == 0


def test_operators_without_telemetry_show_zeros(server: MetricsServer) -> None:
    metrics = server.metrics.GetJobMetrics(metrics_pb2.GetJobMetricsRequest(job_id=JOB))
    assert metrics.records_in == 0
    assert [(op.operator_id, op.operator_name, op.records_in) for op in metrics.operators] == [
        ("source_1", "ImpulseSource", 0),
        ("filter_2", "Filter", 0),
        ("sink_3", "PreviewSink", 0),
    ]
    operator = server.metrics.GetOperatorMetrics(
        metrics_pb2.GetOperatorMetricsRequest(job_id=JOB, operator_id="filter_2")
    )
    assert operator.subtasks == 2
    assert [(s.subtask_index, s.records_in) for s in operator.subtask_metrics] == [(0, 0), (1, 0)]
    assert operator.metrics.idle_time_percent == 0


def test_telemetry_does_not_invent_jobs(server: MetricsServer) -> None:
    server.send(
        report("wrk_a", 1, subtasks=[subtask("source_1", 0, SOURCE, job_id=UNKNOWN_JOB, records_out=1)])
    )
    with pytest.raises(grpc.RpcError) as raised:
        server.metrics.GetJobMetrics(metrics_pb2.GetJobMetricsRequest(job_id=UNKNOWN_JOB))
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    assert UNKNOWN_JOB in raised.value.details()
