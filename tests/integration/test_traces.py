"""A job's lifecycle traced across the real platform's processes: `weir up` with
WEIR_TRACES_FILE set, which every service it starts inherits and appends its spans to.

The chain a created job leaves is CreatePipeline (controller) -> schedule job (controller,
in the job's own supervisor task) -> start tasks (controller) -> StartTasks (each worker the
job's tasks were placed on, linked through the call's gRPC metadata), all in one trace."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.tracing import TRACES_FILE_VARIABLE, read_spans
from tests.conftest import RunningPlatform, start_platform, stop_platform, wait_for
from tests.integration.test_checkpoints import restart, stop, wait_state
from tests.integration.test_first_pipeline import create_pipeline, only_job_of

# Bounded, but slow enough to still be running when the spans are checked.
QUERY = """CREATE TABLE impulse WITH (connector = 'impulse', event_rate = '50', message_count = '1000000');
SELECT counter FROM impulse"""

Span = dict[str, Any]


@pytest.fixture(scope="module")
def spans_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("weir-traces") / "spans.jsonl"


@pytest.fixture(scope="module")
def traced_platform(spans_file: Path) -> Iterator[RunningPlatform]:
    running = start_platform(spans_file.parent / "data", env={TRACES_FILE_VARIABLE: str(spans_file)})
    try:
        yield running
    finally:
        stop_platform(running)


def lifecycle_spans(spans_file: Path, job_id: str, root_name: str) -> dict[str, list[Span]] | None:
    """The spans of `job_id`'s lifecycle by name, once its root, scheduling, start and at least
    one worker's StartTasks are all in the file (each process writes a span as it ends)."""
    spans = read_spans(spans_file)
    of_job = [s for s in spans if s["attributes"].get("job.id") == job_id]
    by_name: dict[str, list[Span]] = {}
    for span in of_job:
        by_name.setdefault(span["name"], []).append(span)
    wanted = (root_name, "schedule job", "start tasks", "StartTasks")
    return by_name if all(by_name.get(name) for name in wanted) else None


def assert_chain(by_name: dict[str, list[Span]], root_name: str) -> None:
    [root] = by_name[root_name]
    [schedule] = by_name["schedule job"]
    [start] = by_name["start tasks"]
    started = by_name["StartTasks"]

    assert {s["trace_id"] for s in [root, schedule, start, *started]} == {root["trace_id"]}
    assert schedule["parent_span_id"] == root["span_id"]
    assert start["parent_span_id"] == schedule["span_id"]
    assert all(s["parent_span_id"] == start["span_id"] for s in started)
    # Recorded by the workers, each its own process: the link went through gRPC metadata.
    assert {root["service"], schedule["service"], start["service"]} == {"weir-controller"}
    assert {s["service"] for s in started} == {"weir-worker"}
    assert root["kind"] == "SERVER" and all(s["kind"] == "SERVER" for s in started)
    assert schedule["attributes"]["job.next_state"] == "Running"
    # Every task the controller started is in some worker's StartTasks.
    assert sum(s["attributes"]["task.count"] for s in started) == start["attributes"]["task.count"]


def test_created_job_is_one_trace_across_controller_and_workers(
    traced_platform: RunningPlatform, spans_file: Path
) -> None:
    pipeline = create_pipeline(traced_platform, QUERY, parallelism=2)
    job_id = only_job_of(traced_platform, pipeline["id"])["id"]
    wait_state(traced_platform, job_id, "Running")

    by_name = wait_for(
        lambda: lifecycle_spans(spans_file, job_id, "CreatePipeline"), what="the job's lifecycle spans"
    )
    assert_chain(by_name, "CreatePipeline")
    [root] = by_name["CreatePipeline"]
    assert root["parent_span_id"] is None  # REST carries no trace context in
    assert root["attributes"]["pipeline.id"] == pipeline["id"]
    assert by_name["schedule job"][0]["attributes"]["pipeline.id"] == pipeline["id"]
    assert by_name["start tasks"][0]["attributes"]["task.count"] == 2
    stop(traced_platform, job_id, "immediate")


def test_restarted_job_is_a_trace_of_its_own(traced_platform: RunningPlatform, spans_file: Path) -> None:
    pipeline = create_pipeline(traced_platform, QUERY)
    first_id = only_job_of(traced_platform, pipeline["id"])["id"]
    wait_state(traced_platform, first_id, "Running")
    stop(traced_platform, first_id, "immediate")

    response = restart(traced_platform, first_id, checkpoint_id="none")
    assert response.status_code == 200, response.text
    job_id = response.json()["new_job_id"]
    wait_state(traced_platform, job_id, "Running")

    by_name = wait_for(
        lambda: lifecycle_spans(spans_file, job_id, "RestartJob"), what="the restarted job's spans"
    )
    assert_chain(by_name, "RestartJob")
    [root] = by_name["RestartJob"]
    assert root["attributes"]["job.restarted_id"] == first_id
    created = lifecycle_spans(spans_file, first_id, "CreatePipeline")
    assert created is not None
    assert root["trace_id"] != created["CreatePipeline"][0]["trace_id"]
    stop(traced_platform, job_id, "immediate")
