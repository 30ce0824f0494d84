"""The telemetry buffer: deltas per drain, bounds, and what a drain carries."""

from __future__ import annotations

import threading

from services.worker.engine.latency_histogram import LATENCY_BOUNDS_MS, LatencyHistogram
from services.worker.engine.subtask_metrics import Role
from services.worker.engine.telemetry_buffer import (
    MAX_LOG_RECORDS_PER_REPORT,
    ErrorLevel,
    LogLevel,
    TelemetryBuffer,
)


def test_counters_are_reported_as_deltas_since_the_last_drain() -> None:
    buffer = TelemetryBuffer()
    task = buffer.register_task(
        "job_a",
        "task_1",
        1,
        2,
        [("source_1", "ImpulseSource", Role.ROLE_SOURCE), ("sink_2", "PreviewSink", Role.ROLE_SINK)],
    )
    task.operator("source_1").count_out(10, 160)
    task.operator("sink_2").count_in(10, 160)
    first = buffer.drain()
    assert [(s.operator_id, s.records_in, s.records_out, s.bytes_out) for s in first.subtasks] == [
        ("source_1", 0, 10, 160),
        ("sink_2", 10, 0, 0),
    ]
    assert first.subtasks[0].subtask_index == 1 and first.subtasks[0].parallelism == 2
    assert first.subtasks[0].role == Role.ROLE_SOURCE and first.subtasks[1].role == Role.ROLE_SINK
    assert first.subtasks[0].job_id == "job_a" and first.subtasks[0].operator_name == "ImpulseSource"
    assert first.timestamp > 0
    task.operator("source_1").count_out(5, 80)
    second = buffer.drain()
    assert [s.records_out for s in second.subtasks] == [5, 0]
    # Only sinks carry a latency histogram.
    assert not second.subtasks[0].latency_counts
    assert list(second.subtasks[1].latency_bounds_ms) == list(LATENCY_BOUNDS_MS)


def test_latency_deltas_and_buckets() -> None:
    histogram = LatencyHistogram()
    histogram.observe(0.5, 3)
    histogram.observe(1.0, 1)  # bounds are inclusive upper bounds
    histogram.observe(1.5, 2)
    histogram.observe(1e9, 1)
    assert histogram.counts[:3] == [4, 2, 0] and histogram.counts[-1] == 1

    buffer = TelemetryBuffer()
    task = buffer.register_task("job_a", "task_1", 0, 1, [("sink_1", "BlackholeSink", Role.ROLE_SINK)])
    sink = task.operator("sink_1")
    assert sink.latency is not None
    sink.latency.observe(3.0, 7)
    assert sum(buffer.drain().subtasks[0].latency_counts) == 7
    sink.latency.observe(3.0, 2)
    counts = list(buffer.drain().subtasks[0].latency_counts)
    assert sum(counts) == 2 and counts[2] == 2


def test_an_ended_task_is_reported_once_more_then_dropped() -> None:
    buffer = TelemetryBuffer()
    task = buffer.register_task("job_a", "task_1", 0, 1, [("source_1", "ImpulseSource", Role.ROLE_SOURCE)])
    task.operator("source_1").count_out(3, 48)
    task.mark_ended()
    assert [s.records_out for s in buffer.drain().subtasks] == [3]
    assert not buffer.drain().subtasks


def test_time_fractions_split_a_wait_in_progress_across_reports() -> None:
    buffer = TelemetryBuffer()
    task = buffer.register_task("job_a", "task_1", 0, 1, [("source_1", "ImpulseSource", Role.ROLE_SOURCE)])
    task.begin_wait(for_output=False)
    threading.Event().wait(0.05)
    first = buffer.drain().subtasks[0]
    assert first.idle_fraction > 0.5
    assert first.busy_fraction + first.idle_fraction + first.backpressure_fraction <= 1.0 + 1e-9
    task.end_wait()
    task.begin_wait(for_output=True)
    task.end_wait()
    second = buffer.drain().subtasks[0]
    assert 0 <= second.backpressure_fraction <= 1 and 0 <= second.idle_fraction <= 1


def test_preview_is_bounded_per_operator_but_counts_everything() -> None:
    buffer = TelemetryBuffer(max_preview_rows=3)
    assert buffer.preview_room("job_a", "sink_1") == 3
    buffer.add_preview("job_a", "sink_1", ['{"a":1}', '{"a":2}'], received=2)
    assert buffer.preview_room("job_a", "sink_1") == 1
    buffer.add_preview("job_a", "sink_1", ['{"a":3}', '{"a":4}'], received=2)
    buffer.add_preview("job_a", "sink_1", [], received=10)
    buffer.add_preview("job_b", "sink_1", ['{"b":1}'], received=1)
    report = buffer.drain()
    previews = {(p.job_id, p.operator_id): p for p in report.preview}
    assert list(previews[("job_a", "sink_1")].rows_json) == ['{"a":1}', '{"a":2}', '{"a":3}']
    assert previews[("job_a", "sink_1")].received == 14
    assert previews[("job_b", "sink_1")].received == 1
    assert not buffer.drain().preview
    assert buffer.preview_room("job_a", "sink_1") == 3


def test_logs_and_errors_are_records_with_ids_and_are_bounded() -> None:
    buffer = TelemetryBuffer()
    buffer.log("job_a", LogLevel.info, "hello", "source_1", 2, {"n": 1, "what": "x"})
    buffer.error("job_a", "boom", "project_2", 2, details="trace", record='{"a":1}' + "x" * 10_000)
    report = buffer.drain()
    [log] = report.logs
    assert log.job_id == "job_a" and log.entry.id.startswith("log_") and log.entry.operator_id == "source_1"
    assert log.entry.task_index == 2 and log.entry.details["what"] == "x" and log.entry.details["n"] == 1
    [error] = report.errors
    assert error.error.id.startswith("err_") and error.error.level == ErrorLevel.error
    assert len(error.error.record) <= 4096
    for i in range(MAX_LOG_RECORDS_PER_REPORT + 5):
        buffer.log("job_a", LogLevel.info, f"line {i}")
    report = buffer.drain()
    assert len(report.logs) == MAX_LOG_RECORDS_PER_REPORT + 1
    assert report.logs[-1].entry.level == LogLevel.warn
    assert "dropped 5 log" in report.logs[-1].entry.message


def test_drain_is_safe_against_concurrent_writers() -> None:
    buffer = TelemetryBuffer()
    task = buffer.register_task("job_a", "task_1", 0, 1, [("source_1", "ImpulseSource", Role.ROLE_SOURCE)])
    operator = task.operator("source_1")
    total = 200_000

    def write() -> None:
        for _ in range(total):
            operator.count_out(1, 8)
        task.mark_ended()

    writer = threading.Thread(target=write)
    writer.start()
    seen = 0
    while writer.is_alive():
        seen += sum(s.records_out for s in buffer.drain().subtasks)
    writer.join()
    seen += sum(s.records_out for s in buffer.drain().subtasks)
    assert seen == total
