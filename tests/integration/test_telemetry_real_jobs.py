"""Telemetry of real jobs through a real `weir up`: every number the API shows is measured.

Each test runs a pipeline on the platform's real workers and reads its numbers back over REST,
from the real metrics service: exact counts for bounded sources (per operator, per subtask,
per metric group), latency percentiles against a delay injected with the blackhole sink's
`write_delay_ms`, backpressure behind a slow sink and without one, counts that survive a
`kill -9` of the metrics service mid-job, and the bounds of the output preview.
"""

from __future__ import annotations

import itertools
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunningPlatform, wait_for
from tests.integration.test_first_pipeline import job

# The impulse source's rows are two BIGINT columns without nulls: 16 bytes of Arrow each.
IMPULSE_ROW_BYTES = 16
# The metrics service's default ring of preview rows per sink operator (TelemetryLimits).
PREVIEW_RING_ROWS = 1000
# The worker keeps at most this many preview rows per operator per report (TelemetryBuffer).
PREVIEW_ROWS_PER_REPORT = 200


def impulse(name: str, event_rate: int, message_count: int | None = None) -> str:
    """A CREATE TABLE of an impulse source."""
    bound = "" if message_count is None else f", message_count = '{message_count}'"
    return f"CREATE TABLE {name} WITH (connector = 'impulse', event_rate = '{event_rate}'{bound});"


def start(platform: RunningPlatform, query: str, parallelism: int = 1, checkpoint_ms: int = 5000) -> str:
    """Create a pipeline; its job's id."""
    response = platform.rest.post(
        "/api/v1/pipelines",
        json={
            "name": "telemetry",
            "query": query,
            "parallelism": parallelism,
            "checkpoint_interval_ms": checkpoint_ms,
        },
    )
    assert response.status_code == 200, response.text
    jobs = platform.rest.get("/api/v1/jobs", params={"pipeline_id": response.json()["id"]}).json()["data"]
    assert len(jobs) == 1, jobs
    return str(jobs[0]["id"])


def get(platform: RunningPlatform, path: str, **params: Any) -> Any:
    response = platform.rest.get(f"/api/v1{path}", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def wait_state(platform: RunningPlatform, job_id: str, state: str, timeout_s: float = 60) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        current = job(platform, job_id)
        if current["state"] in ("Failed", "Recovering"):
            pytest.fail(f"job {job_id} went {current['state']} waiting for {state}: {current}")
        return current if current["state"] == state else None

    return wait_for(reached, timeout_s=timeout_s, what=f"job {job_id} {state}")


def operators_by_name(platform: RunningPlatform, job_id: str) -> dict[str, str]:
    """Operator name -> id, from the job's metrics (in plan order)."""
    metrics = get(platform, f"/jobs/{job_id}/metrics")
    return {op["operator_name"]: op["operator_id"] for op in metrics["operators"]}


def stop(platform: RunningPlatform, job_id: str) -> None:
    response = platform.rest.post(f"/api/v1/jobs/{job_id}/stop", json={"mode": "immediate"})
    assert response.status_code == 200, response.text
    wait_state(platform, job_id, "Stopped")


def test_bounded_job_counts_are_exact_per_operator_subtask_and_group(platform: RunningPlatform) -> None:
    per_subtask, parallelism, kept = 1000, 2, 100
    job_id = start(
        platform,
        f"{impulse('impulse', 0, per_subtask)} SELECT counter FROM impulse WHERE counter < {kept}",
        parallelism=parallelism,
    )
    wait_state(platform, job_id, "Finished")
    produced, delivered = per_subtask * parallelism, kept * parallelism
    # The workers' last reports land after the job finished; then nothing moves any more.
    metrics = wait_for(
        lambda: (m := get(platform, f"/jobs/{job_id}/metrics"))["records_out"] >= delivered and m,
        what="the final counts",
    )
    assert metrics["records_in"] == produced
    assert metrics["records_out"] == delivered
    assert metrics["bytes_in"] == produced * IMPULSE_ROW_BYTES
    assert metrics["errors"] == 0 and metrics["warnings"] == 0

    names = operators_by_name(platform, job_id)
    source, sink = names["ImpulseSource"], names["PreviewSink"]
    by_id = {op["operator_id"]: op for op in metrics["operators"]}
    assert by_id[source]["records_out"] == produced
    assert by_id[sink]["records_in"] == delivered
    transforms = [op_id for name, op_id in names.items() if name not in ("ImpulseSource", "PreviewSink")]
    assert transforms, names
    # Every hop counts each batch once out of the upstream and once into the downstream.
    chain = [source, *transforms, sink]
    for upstream, downstream in itertools.pairwise(chain):
        assert by_id[upstream]["records_out"] == by_id[downstream]["records_in"], (upstream, downstream)

    for op_id in chain:
        detail = get(platform, f"/jobs/{job_id}/operators/{op_id}/metrics")
        assert detail["subtasks"] == parallelism
        rows = detail["subtask_metrics"]
        assert [r["subtask_index"] for r in rows] == list(range(parallelism))
        assert sum(r["records_in"] for r in rows) == detail["metrics"]["records_in"]
        assert sum(r["records_out"] for r in rows) == detail["metrics"]["records_out"]
    source_detail = get(platform, f"/jobs/{job_id}/operators/{source}/metrics")
    # message_count bounds each subtask: every subtask read exactly its share.
    assert [r["records_out"] for r in source_detail["subtask_metrics"]] == [per_subtask] * parallelism
    assert source_detail["metrics"]["bytes_out"] == produced * IMPULSE_ROW_BYTES
    sink_detail = get(platform, f"/jobs/{job_id}/operators/{sink}/metrics")
    # counter < kept holds for the first `kept` counters of each subtask.
    assert [r["records_in"] for r in sink_detail["subtask_metrics"]] == [kept] * parallelism
    assert sink_detail["metrics"]["bytes_in"] == metrics["bytes_out"] > 0

    groups = get(platform, f"/jobs/{job_id}/metric-groups")
    assert groups["sources"]["total_records"] == produced
    assert groups["sources"]["operators"] == [source]
    assert groups["sinks"]["total_records"] == delivered
    assert groups["sinks"]["operators"] == [sink]
    assert groups["transforms"]["operators"] == transforms
    assert groups["transforms"]["total_records"] == sum(by_id[t]["records_out"] for t in transforms)

    # The job view (the controller asks the metrics service) agrees with the metrics API.
    summary = job(platform, job_id)["metrics"]
    assert (summary["records_in"], summary["records_out"]) == (produced, delivered)
    output = get(platform, f"/jobs/{job_id}/output", limit=1000)
    assert output["total_records"] == delivered


def _latency_job(platform: RunningPlatform, delay_ms: int, rows: int) -> dict[str, Any]:
    """A bounded job into a blackhole whose writes take `delay_ms`: its final metrics."""
    job_id = start(
        platform,
        f"""{impulse("impulse", 2000, rows)}
        CREATE TABLE out (counter BIGINT) WITH (connector = 'blackhole', write_delay_ms = '{delay_ms}');
        INSERT INTO out SELECT counter FROM impulse""",
    )
    wait_state(platform, job_id, "Finished")
    return wait_for(
        lambda: (m := get(platform, f"/jobs/{job_id}/metrics"))["records_out"] == rows and m,
        what="the final counts",
    )


def test_latency_percentiles_are_ordered_and_follow_an_injected_delay(platform: RunningPlatform) -> None:
    delay_ms, rows = 100, 300
    # At 2000 rows/s the source emits 20-row batches, so ~15 batches each wait `delay_ms`.
    slow = _latency_job(platform, delay_ms, rows)
    fast = _latency_job(platform, 0, rows)
    for metrics in (slow, fast):
        assert 0 <= metrics["latency_p50"] <= metrics["latency_p95"] <= metrics["latency_p99"], metrics
    # Every record of the slow job waited at least the delay between source and sink, so even
    # the lowest percentile is at or above it (percentiles interpolate within fixed buckets,
    # and the bucket holding 100.x ms starts at 100); and a sleep of 100 ms is not 10 s.
    assert delay_ms <= slow["latency_p50"], slow
    assert slow["latency_p99"] < 10_000, slow
    # Without the delay the same job's records take far less than it.
    assert fast["latency_p50"] < delay_ms, fast


def test_a_bad_write_delay_is_a_400_naming_the_option(platform: RunningPlatform) -> None:
    for bad in ("-1", "soon", "1e9"):
        response = platform.rest.post(
            "/api/v1/pipelines",
            json={
                "name": "bad delay",
                "query": f"""{impulse("impulse", 10)}
                CREATE TABLE out (counter BIGINT) WITH (connector = 'blackhole', write_delay_ms = '{bad}');
                INSERT INTO out SELECT counter FROM impulse""",
            },
        )
        assert response.status_code == 400, response.text
        assert "write_delay_ms" in response.json()["message"], response.text


UNION_INTO_BLACKHOLE = """CREATE TABLE a WITH (connector = 'impulse', event_rate = '2000');
CREATE TABLE b WITH (connector = 'impulse', event_rate = '2000');
CREATE TABLE out (counter BIGINT) WITH (connector = 'blackhole', write_delay_ms = '{delay_ms}');
INSERT INTO out SELECT counter FROM a UNION ALL SELECT counter FROM b"""


def test_backpressure_is_near_one_behind_a_slow_sink_and_near_zero_otherwise(
    platform: RunningPlatform,
) -> None:
    # The union has two inputs, so the sources run as their own tasks and hand batches over
    # bounded exchange channels: a slow sink blocks them, and that wait is backpressure.
    slow = start(platform, UNION_INTO_BLACKHOLE.format(delay_ms=50))
    try:
        metrics = wait_for(
            lambda: (m := get(platform, f"/jobs/{slow}/metrics"))["backpressure"] >= 0.8 and m,
            timeout_s=30,
            what="backpressure behind the slow sink",
        )
        assert metrics["backpressure"] <= 1.0
        names = operators_by_name(platform, slow)
        sink = get(platform, f"/jobs/{slow}/operators/{names['BlackholeSink']}/metrics")
        # The sink itself is never blocked on output: it is the one that is slow.
        assert sink["metrics"]["backpressure"] < 0.2, sink
    finally:
        stop(platform, slow)

    fast = start(platform, UNION_INTO_BLACKHOLE.format(delay_ms=0))
    try:
        # A few reports in (4000 rows/s in all), the sources are paced and never wait for room.
        metrics = wait_for(
            lambda: (m := get(platform, f"/jobs/{fast}/metrics"))["records_in"] >= 8000 and m,
            timeout_s=30,
            what="a few seconds of records",
        )
        assert metrics["backpressure"] < 0.2, metrics
        source_ids = [
            op["operator_id"] for op in metrics["operators"] if op["operator_name"] == "ImpulseSource"
        ]
        assert len(source_ids) == 2, metrics["operators"]
        for source in source_ids:
            detail = get(platform, f"/jobs/{fast}/operators/{source}/metrics")
            # Paced sources spend most of their time waiting for their next batch to be due.
            assert detail["metrics"]["idle_time_percent"] > 50, detail
    finally:
        stop(platform, fast)


def test_output_counts_every_row_and_keeps_a_bounded_ring(platform: RunningPlatform) -> None:
    rows = 7000
    # 1000 rows/s for 7 s: each second's report samples up to 200 rows, more than the ring keeps.
    job_id = start(
        platform,
        f"{impulse('impulse', 1000, rows)} SELECT counter FROM impulse",
        checkpoint_ms=100,
    )
    wait_state(platform, job_id, "Finished")
    output = wait_for(
        lambda: (o := get(platform, f"/jobs/{job_id}/output", limit=1000))["total_records"] == rows and o,
        what="every row counted",
    )
    kept = output["data"]
    assert len(kept) == PREVIEW_RING_ROWS, len(kept)
    assert output["has_more"] is False
    counters = [item["record"]["counter"] for item in kept]
    assert len(set(counters)) == len(counters)
    assert all(0 <= c < rows for c in counters)
    # The ring forgot the oldest rows: the first second's sample is gone.
    assert min(counters) >= PREVIEW_ROWS_PER_REPORT, min(counters)
    assert [item["timestamp"] for item in kept] == sorted(item["timestamp"] for item in kept)

    first = get(platform, f"/jobs/{job_id}/output", limit=600)
    rest = get(platform, f"/jobs/{job_id}/output", limit=600, offset=600)
    assert first["has_more"] is True and rest["has_more"] is False
    assert first["data"] + rest["data"] == kept
    assert len(rest["data"]) == PREVIEW_RING_ROWS - 600
    beyond = get(platform, f"/jobs/{job_id}/output", offset=PREVIEW_RING_ROWS)
    assert beyond["data"] == [] and beyond["total_records"] == rows
    csv = platform.rest.get(f"/api/v1/jobs/{job_id}/output", params={"format": "csv", "limit": 1000})
    assert csv.status_code == 200
    assert csv.text.splitlines()[1:] == [str(c) for c in counters]


def _metrics_service_pid(platform: RunningPlatform) -> int:
    for pid in platform.child_pids():
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except FileNotFoundError:
            continue  # exited since it was listed (the killed one, say)
        if b"services.cli" in args and args[args.index(b"services.cli") + 1] == b"metrics":
            return pid
    raise AssertionError("no metrics service among the platform's processes")


def test_metrics_service_killed_mid_job_loses_no_counts(platform: RunningPlatform) -> None:
    per_subtask, parallelism = 3000, 2
    produced = per_subtask * parallelism
    # 1000 rows/s in all: the job runs about 6 s, and the metrics service dies in the middle.
    job_id = start(
        platform,
        f"{impulse('impulse', 1000, per_subtask)} SELECT counter, subtask_index FROM impulse",
        parallelism=parallelism,
    )
    before = wait_for(
        lambda: (m := get(platform, f"/jobs/{job_id}/metrics"))["records_in"] > 0 and m,
        what="the first counts to reach the metrics service",
    )
    victim = _metrics_service_pid(platform)
    os.kill(victim, signal.SIGKILL)
    assert before["records_in"] < produced, "the job ended before the metrics service was killed"
    wait_for(
        lambda: _metrics_service_pid(platform) != victim,
        timeout_s=30,
        what="weir up to restart the metrics service",
    )

    wait_state(platform, job_id, "Finished")
    final = wait_for(
        lambda: (m := get(platform, f"/jobs/{job_id}/metrics"))["records_out"] >= produced and m,
        timeout_s=30,
        what="the final counts after the restart",
    )
    assert final["records_in"] == produced
    assert final["records_out"] == produced
    assert final["bytes_in"] == produced * IMPULSE_ROW_BYTES
    # The histogram came back too: percentiles over every record, not only the later ones.
    assert 0 <= final["latency_p50"] <= final["latency_p95"] <= final["latency_p99"]
    names = operators_by_name(platform, job_id)
    source = get(platform, f"/jobs/{job_id}/operators/{names['ImpulseSource']}/metrics")
    assert [r["records_out"] for r in source["subtask_metrics"]] == [per_subtask] * parallelism
    sink = get(platform, f"/jobs/{job_id}/operators/{names['PreviewSink']}/metrics")
    assert [r["records_in"] for r in sink["subtask_metrics"]] == [per_subtask] * parallelism
    groups = get(platform, f"/jobs/{job_id}/metric-groups")
    assert groups["sources"]["total_records"] == groups["sinks"]["total_records"] == produced
    assert get(platform, f"/jobs/{job_id}/output", limit=10)["total_records"] == produced
    assert job(platform, job_id)["metrics"]["records_in"] == produced


@pytest.fixture(autouse=True)
def _no_job_left_running(platform: RunningPlatform) -> Iterator[None]:
    """Each test leaves the platform's slots free for the next (a failed test included)."""
    yield
    for running in get(platform, "/jobs", running="true", limit=100)["data"]:
        if running["state"] in ("Created", "Scheduling", "Running", "Recovering", "Rescaling"):
            platform.rest.post(f"/api/v1/jobs/{running['id']}/stop", json={"mode": "immediate"})
