"""Derived metrics: percentiles of merged histograms, throughput over the window, recent
gauges (backpressure, idle time), metric groups."""

from __future__ import annotations

import pytest

from weir.v1 import metrics_pb2

from .harness import JOB, SINK, SOURCE, TRANSFORM, ManualClock, MetricsServer, report, subtask

BOUNDS = [10.0, 50.0, 100.0, 500.0]


def _job_metrics(server: MetricsServer) -> metrics_pb2.JobMetrics:
    return server.metrics.GetJobMetrics(metrics_pb2.GetJobMetricsRequest(job_id=JOB))


def test_percentiles_come_from_the_merged_histogram(server: MetricsServer) -> None:
    # Two sink subtasks over two reports; merged counts per bucket:
    # (0,10]: 40, (10,50]: 40, (50,100]: 15, (100,500]: 4, >500: 1  (100 records).
    server.send(
        report(
            "wrk_a",
            1,
            subtasks=[
                subtask("sink_3", 0, SINK, latency_bounds_ms=BOUNDS, latency_counts=[40, 0, 0, 0, 0]),
                subtask("sink_3", 1, SINK, latency_bounds_ms=BOUNDS, latency_counts=[0, 30, 10, 0, 0]),
            ],
        ),
        report(
            "wrk_a",
            2,
            subtasks=[subtask("sink_3", 1, SINK, latency_bounds_ms=BOUNDS, latency_counts=[0, 10, 5, 4, 1])],
        ),
    )
    metrics = _job_metrics(server)
    # p50: rank 50, 10 into the (10,50] bucket of 40 -> 10 + 40 * 10/40.
    assert metrics.latency_p50 == pytest.approx(20.0)
    # p95: rank 95, exactly the top of (50,100] -> 100.
    assert metrics.latency_p95 == pytest.approx(100.0)
    # p99: rank 99, the last of (100,500]'s 4 -> 500.
    assert metrics.latency_p99 == pytest.approx(500.0)

    # Not the average of the subtasks' own p50s: subtask 0 alone has p50 5 (40 records in
    # (0,10]), subtask 1 alone 40 (rank 30 of 60, 30 into (10,50]); their mean is 22.5.
    assert metrics.latency_p50 != pytest.approx((5.0 + 40.0) / 2)

    server.send(
        report(
            "wrk_a",
            3,
            subtasks=[subtask("sink_3", 0, SINK, latency_bounds_ms=BOUNDS, latency_counts=[100, 0, 0, 0, 0])],
        )
    )
    # 200 records, 140 at or below 10 ms: p50 rank 100 in the first bucket -> 10 * 100/140.
    assert _job_metrics(server).latency_p50 == pytest.approx(10 * 100 / 140)


def test_throughput_is_source_records_per_second_over_the_last_ten_seconds(
    server: MetricsServer, clock: ManualClock
) -> None:
    clock.now_ms = 100_500.0
    server.send(report("wrk_a", 1, subtasks=[subtask("source_1", 0, SOURCE, records_out=500)]))
    clock.now_ms = 105_500.0
    server.send(
        report(
            "wrk_a",
            2,
            subtasks=[
                subtask("source_1", 1, SOURCE, records_out=300),
                # Not source output: must not count.
                subtask("filter_2", 0, TRANSFORM, records_in=800, records_out=700),
                subtask("sink_3", 0, SINK, records_in=700),
            ],
        )
    )
    clock.now_ms = 110_000.0
    assert _job_metrics(server).throughput == pytest.approx(80.0)
    # The window (100.25 s, 110.25 s] covers three quarters of the 100 s bucket.
    clock.now_ms = 110_250.0
    assert _job_metrics(server).throughput == pytest.approx((0.75 * 500 + 300) / 10)
    clock.now_ms = 111_000.0
    assert _job_metrics(server).throughput == pytest.approx(30.0)
    clock.now_ms = 116_000.0
    metrics = _job_metrics(server)
    assert metrics.throughput == 0
    # Totals do not decay.
    assert metrics.records_in == 800


def test_backpressure_and_idle_time_are_recent_gauges(server: MetricsServer, clock: ManualClock) -> None:
    server.send(
        report(
            "wrk_a",
            1,
            subtasks=[
                subtask("filter_2", 0, TRANSFORM, backpressure_fraction=0.15, idle_fraction=0.10),
                subtask("filter_2", 1, TRANSFORM, backpressure_fraction=0.05, idle_fraction=0.30),
                subtask("source_1", 0, SOURCE, backpressure_fraction=0.40),
            ],
        )
    )
    assert _job_metrics(server).backpressure == pytest.approx(0.40)
    operator = server.metrics.GetOperatorMetrics(
        metrics_pb2.GetOperatorMetricsRequest(job_id=JOB, operator_id="filter_2")
    )
    assert operator.metrics.backpressure == pytest.approx(0.15)
    assert operator.metrics.idle_time_percent == pytest.approx(20.0)

    # Later only filter_2[1] keeps reporting: the others' gauges go stale after the window.
    clock.advance(8_000)
    server.send(report("wrk_a", 2, subtasks=[subtask("filter_2", 1, TRANSFORM, backpressure_fraction=0.02)]))
    clock.advance(3_000)
    assert _job_metrics(server).backpressure == pytest.approx(0.02)
    operator = server.metrics.GetOperatorMetrics(
        metrics_pb2.GetOperatorMetricsRequest(job_id=JOB, operator_id="filter_2")
    )
    assert operator.metrics.backpressure == pytest.approx(0.02)
    assert operator.metrics.idle_time_percent == 0


def test_fractions_are_clamped(server: MetricsServer) -> None:
    server.send(report("wrk_a", 1, subtasks=[subtask("source_1", 0, SOURCE, backpressure_fraction=1.7)]))
    assert _job_metrics(server).backpressure == 1.0


def test_metric_groups(server: MetricsServer, clock: ManualClock) -> None:
    server.send(
        report(
            "wrk_a",
            1,
            subtasks=[
                subtask("source_1", 0, SOURCE, records_out=600),
                subtask("source_1", 1, SOURCE, records_out=400),
                subtask("filter_2", 0, TRANSFORM, records_in=1000, records_out=950),
                subtask("sink_3", 0, SINK, records_in=950),
            ],
        )
    )
    groups = server.metrics.GetJobMetricGroups(metrics_pb2.GetJobMetricGroupsRequest(job_id=JOB))
    assert (groups.sources.total_records, groups.sources.throughput) == (1000, 100)
    assert list(groups.sources.operators) == ["source_1"]
    assert (groups.sinks.total_records, groups.sinks.throughput) == (950, 95)
    assert list(groups.sinks.operators) == ["sink_3"]
    assert (groups.transforms.total_records, groups.transforms.throughput) == (950, 95)
    assert list(groups.transforms.operators) == ["filter_2"]
