"""Real tasks on real threads: results, counters, lifecycle, stopping and failing."""

from __future__ import annotations

import json
import time

import polars as pl

from services.worker.engine import Task, TelemetryBuffer
from services.worker.engine.latency_histogram import LATENCY_BOUNDS_MS
from tests.engine.harness import RecordingListener, start_job, wait_until
from weir.v1 import logs_pb2, worker_pb2

BOUNDED = "CREATE TABLE impulse WITH (connector = 'impulse', event_rate = '0', message_count = '{n}');\n"


def test_preview_rows_equal_an_independent_computation() -> None:
    n, parallelism = 1000, 2
    query = BOUNDED.format(n=n) + (
        "SELECT counter, subtask_index AS s, counter * 3 - 7 AS x, counter / 7 AS q, counter % 7 AS r,\n"
        "       CAST(counter AS DOUBLE) / 4 AS d, counter || '-' || subtask_index AS label,\n"
        "       CASE WHEN counter % 3 = 0 THEN 'fizz' WHEN counter % 5 = 0 THEN 'buzz' END AS word\n"
        "FROM impulse WHERE counter % 4 <> 1 AND NOT (counter BETWEEN 100 AND 199) OR counter = 150"
    )
    job = start_job(query, parallelism, buffer=TelemetryBuffer(max_preview_rows=10_000))
    job.wait_ended()
    assert all(listener.kinds() == ["running", "finished"] for listener in job.listeners)

    totals = job.telemetry.drain()
    rows = [json.loads(row) for row in totals.preview_rows["sink_4"]]

    # Independently, row by row in plain Python.
    expected = []
    for s in range(parallelism):
        for c in range(n):
            if (c % 4 != 1 and not 100 <= c <= 199) or c == 150:
                word = "fizz" if c % 3 == 0 else ("buzz" if c % 5 == 0 else None)
                expected.append(
                    {"counter": c, "s": s, "x": c * 3 - 7, "q": c // 7, "r": c % 7, "d": c / 4,
                     "label": f"{c}-{s}", "word": word}
                )  # fmt: skip
    key = ("s", "counter")
    assert sorted(rows, key=lambda r: tuple(r[k] for k in key)) == sorted(
        expected, key=lambda r: tuple(r[k] for k in key)
    )
    # And with Polars, as a second opinion on the counts.
    frame = pl.DataFrame({"counter": list(range(n)) * parallelism})
    kept = frame.filter(
        ((pl.col("counter") % 4 != 1) & ~pl.col("counter").is_between(100, 199)) | (pl.col("counter") == 150)
    ).height

    assert totals.preview_received["sink_4"] == kept == len(rows)
    assert totals.sum("source_1", "records_out") == n * parallelism
    assert totals.sum("source_1", "records_in") == 0
    assert totals.sum("filter_2", "records_in") == n * parallelism
    assert totals.sum("filter_2", "records_out") == kept
    assert totals.sum("project_3", "records_in") == kept
    assert totals.sum("project_3", "records_out") == kept
    assert totals.sum("sink_4", "records_in") == kept
    assert totals.sum("sink_4", "records_out") == 0
    assert totals.sum("source_1", "bytes_out") == n * parallelism * 16  # two BIGINT columns
    assert totals.sum("filter_2", "bytes_in") == totals.sum("source_1", "bytes_out")
    for (operator_id, _), operator in totals.operators.items():
        for busy, idle, backpressure in operator.fractions:
            assert 0 <= busy <= 1 and 0 <= idle <= 1 and 0 <= backpressure <= 1
        if operator_id == "sink_4":
            assert len(operator.latency_counts) == len(LATENCY_BOUNDS_MS) + 1
            assert sum(operator.latency_counts) == operator.records_in


def test_negative_integer_arithmetic_truncates_like_sql() -> None:
    query = (
        BOUNDED.format(n=20)
        + "SELECT counter - 10 AS a, (counter - 10) / 3 AS q, (counter - 10) % 3 AS r FROM impulse"
    )
    job = start_job(query)
    job.wait_ended()
    rows = [json.loads(row) for row in job.telemetry.drain().preview_rows["sink_3"]]
    assert len(rows) == 20
    for row in rows:
        a = row["a"]
        assert row["q"] == int(a / 3)  # toward zero
        assert row["r"] == a - 3 * int(a / 3)  # sign of the dividend


def test_preview_keeps_a_bounded_sample_but_counts_every_row() -> None:
    job = start_job(BOUNDED.format(n=5000) + "SELECT * FROM impulse")
    job.wait_ended()
    totals = job.telemetry.drain()
    assert totals.preview_received["sink_2"] == 5000
    assert len(totals.preview_rows["sink_2"]) == 200
    assert [json.loads(r)["counter"] for r in totals.preview_rows["sink_2"]] == list(range(200))
    # The next report starts a new sample.
    assert job.telemetry.buffer.drain().preview == []


def test_a_finished_task_logs_and_is_reported_once_more_then_forgotten() -> None:
    job = start_job(BOUNDED.format(n=10) + "SELECT counter FROM impulse")
    job.wait_ended()
    totals = job.telemetry.drain()
    messages = totals.log_messages()
    assert "task started" in messages
    assert "source finished: all 10 records read" in messages
    assert "task finished" in messages
    started = next(r for r in totals.logs if r.entry.message == "task started")
    assert started.job_id == "job_test"
    assert started.entry.operator_id == "source_1"
    assert started.entry.task_index == 0
    assert started.entry.level == logs_pb2.LogEntry.info
    assert started.entry.id.startswith("log_")
    assert not job.telemetry.buffer.drain().subtasks


def test_rate_limited_source_keeps_its_rate_and_is_mostly_idle() -> None:
    rate, n = 400, 40
    query = (
        f"CREATE TABLE impulse WITH (connector = 'impulse', event_rate = '{rate}', message_count = '{n}');\n"
    )
    started = time.monotonic()
    job = start_job(query + "SELECT * FROM impulse")
    job.wait_ended()
    elapsed = time.monotonic() - started
    assert elapsed >= (n - 1) / rate * 0.95
    totals = job.telemetry.drain()
    assert totals.preview_received["sink_2"] == n
    idle = max(f[1] for f in totals.operators[("source_1", 0)].fractions)
    assert idle > 0


def test_event_rate_is_shared_by_subtasks_and_message_count_is_per_subtask() -> None:
    query = "CREATE TABLE impulse WITH (connector = 'impulse', event_rate = '0', message_count = '7');\n"
    job = start_job(query + "SELECT subtask_index, counter FROM impulse", parallelism=3)
    job.wait_ended()
    rows = [json.loads(r) for r in job.telemetry.drain().preview_rows["sink_3"]]
    assert sorted((r["subtask_index"], r["counter"]) for r in rows) == [
        (s, c) for s in range(3) for c in range(7)
    ]


def test_graceful_stop_ends_an_unbounded_source_promptly_and_drains() -> None:
    query = "CREATE TABLE impulse WITH (connector = 'impulse', event_rate = '2000');\n"
    job = start_job(query + "SELECT counter * 2 AS c FROM impulse WHERE counter % 2 = 0")
    wait_until(lambda: job.telemetry.drain().preview_received["sink_4"] > 10, "rows at the preview sink")
    stopping = time.monotonic()
    job.stop(graceful=True)
    job.wait_ended(timeout_s=5)
    assert time.monotonic() - stopping < 2
    assert job.listeners[0].kinds() == ["running", "finished"]
    totals = job.telemetry.drain()
    assert any(m.startswith("source stopped after") for m in totals.log_messages())
    assert "task finished" in totals.log_messages()
    # Drained: everything the source emitted reached the sink.
    assert totals.sum("filter_2", "records_in") == totals.sum("source_1", "records_out")
    assert totals.sum("sink_4", "records_in") == totals.sum("filter_2", "records_out")
    assert totals.preview_received["sink_4"] == totals.sum("sink_4", "records_in")


def test_immediate_stop_cancels_a_source_running_flat_out() -> None:
    query = "CREATE TABLE impulse WITH (connector = 'impulse', event_rate = '0');\n"
    job = start_job(query + "SELECT counter + 1 AS c FROM impulse WHERE counter % 3 = 0")
    wait_until(lambda: job.telemetry.drain().sum("sink_4", "records_in") > 0, "rows at the sink")
    stopping = time.monotonic()
    job.stop(graceful=False)
    job.wait_ended(timeout_s=5)
    assert time.monotonic() - stopping < 2
    assert job.listeners[0].kinds() == ["running", "finished"]
    assert any(m.startswith("task cancelled after") for m in job.telemetry.drain().log_messages())


def test_stop_wakes_a_slow_source_at_once() -> None:
    query = "CREATE TABLE impulse WITH (connector = 'impulse', event_rate = '0.5');\n"
    job = start_job(query + "SELECT * FROM impulse")
    wait_until(lambda: job.telemetry.drain().preview_received["sink_2"] == 1, "the first row")
    stopping = time.monotonic()
    job.stop(graceful=True)
    job.wait_ended(timeout_s=5)
    assert time.monotonic() - stopping < 1


def test_a_failing_expression_fails_the_task_with_the_operator_and_record() -> None:
    job = start_job(BOUNDED.format(n=100) + "SELECT counter, 100 / (counter - 42) AS x FROM impulse")
    job.wait_ended()
    listener = job.listeners[0]
    assert listener.kinds() == ["running", "failed"]
    message = listener.events[-1][2]
    assert "Project (project_2)" in message
    assert "division by zero in 100 / (counter - 42)" in message
    totals = job.telemetry.drain()
    [error] = totals.errors
    assert error.job_id == "job_test"
    assert error.error.operator_id == "project_2"
    assert error.error.task_index == 0
    assert error.error.level == logs_pb2.JobError.error
    assert json.loads(error.error.record) == {"counter": 42, "subtask_index": 0}
    assert error.error.id.startswith("err_")
    assert "RecordError" in error.error.details  # the traceback
    assert totals.sum("project_2", "errors") == 1
    assert any(r.entry.level == logs_pb2.LogEntry.error for r in totals.logs)


def test_a_guard_only_fires_in_the_case_branch_that_is_taken() -> None:
    query = (
        BOUNDED.format(n=100)
        + "SELECT CASE WHEN counter <> 42 THEN 100 / (counter - 42) ELSE 0 END AS x FROM impulse"
    )
    job = start_job(query)
    job.wait_ended()
    assert job.listeners[0].kinds() == ["running", "finished"]


def test_a_failing_cast_fails_the_task_with_polars_message() -> None:
    query = BOUNDED.format(n=10) + "SELECT CAST(CAST(counter AS TEXT) || 'x' AS BIGINT) AS x FROM impulse"
    job = start_job(query)
    job.wait_ended()
    kind, _, message = job.listeners[0].events[-1]
    assert kind == "failed"
    assert message.startswith("Project (project_2) failed: InvalidOperationError: conversion from")


def test_a_malformed_task_spec_fails_through_the_listener() -> None:
    job = start_job(BOUNDED.format(n=1) + "SELECT * FROM impulse")
    job.wait_ended()
    listener = RecordingListener()
    buffer = TelemetryBuffer()
    spec = worker_pb2.TaskSpec(task_id="task_x", operator_ids=["sink_2"], subtask_index=0, parallelism=1)
    task = Task("job_test", job.dataflow, spec, buffer, listener)
    task.start()
    listener.wait_ended()
    assert task.join(5)
    assert listener.kinds() == ["failed"]
    assert "not a source" in listener.events[0][2]
    assert buffer.drain().errors[0].error.message == listener.events[0][2]


def test_join_of_a_task_never_started_returns_at_once() -> None:
    job = start_job(BOUNDED.format(n=1) + "SELECT * FROM impulse")
    job.wait_ended()
    spec = worker_pb2.TaskSpec(
        task_id="task_y", operator_ids=["source_1", "sink_2"], subtask_index=0, parallelism=1
    )
    assert Task("job_test", job.dataflow, spec, TelemetryBuffer(), RecordingListener()).join(0)


def test_blackhole_sink_counts_rows_and_latency() -> None:
    query = (
        "CREATE TABLE impulse WITH (connector = 'impulse', event_rate = '0', message_count = '3000');\n"
        "CREATE TABLE out (c BIGINT, s TEXT) WITH (connector = 'blackhole');\n"
        "INSERT INTO out SELECT counter, CAST(subtask_index AS TEXT) FROM impulse WHERE counter < 1000"
    )
    job = start_job(query)
    job.wait_ended()
    totals = job.telemetry.drain()
    assert totals.sum("sink_4", "records_in") == 1000
    assert sum(totals.operators[("sink_4", 0)].latency_counts) == 1000
    assert not totals.preview_rows
