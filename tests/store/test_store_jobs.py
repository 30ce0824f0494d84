"""Jobs: run numbering, state transitions (compare-and-set, history, times), listing."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from typing import Any

import pytest

from services.store import (
    JOB_SORT_FIELDS,
    AlreadyExists,
    JobQuery,
    JobRecord,
    JobSummary,
    NotFound,
    PipelineRecord,
    StateTransition,
    Store,
)


def run_in_threads(n: int, work: Callable[[int], Any]) -> list[Any]:
    """Run work(0..n-1) on n threads released together by a barrier; re-raise any failure."""
    start = threading.Barrier(n)
    results: list[Any] = [None] * n
    errors: list[BaseException] = []

    def run(i: int) -> None:
        start.wait()
        try:
            results[i] = work(i)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


# Creating jobs


def test_new_job_is_created_and_desired_running(
    store: Store, add_pipeline: Callable[..., PipelineRecord]
) -> None:
    add_pipeline("pipe_1")
    job = store.create_job("pipe_1", "job_1", parallelism=4, created_at=1_704_067_200_000.0, dataflow=b"plan")

    assert job == JobRecord(
        id="job_1",
        pipeline_id="pipe_1",
        run_id=1,
        state="Created",
        running_desired=True,
        parallelism=4,
        tasks=0,
        created_at=1_704_067_200_000.0,
        start_time=None,
        finish_time=None,
        failure_message=None,
        state_history=(StateTransition("Created", 1_704_067_200_000.0),),
        dataflow=b"plan",
    )
    assert store.get_job("job_1") == job


def test_run_id_counts_runs_per_pipeline(store: Store, add_pipeline: Callable[..., PipelineRecord]) -> None:
    add_pipeline("pipe_1")
    add_pipeline("pipe_2")
    run_ids = [
        store.create_job("pipe_1", "job_1", 1, 1.0, dataflow=b"plan").run_id,
        store.create_job("pipe_1", "job_2", 1, 2.0, dataflow=b"plan").run_id,
        store.create_job("pipe_2", "job_3", 1, 3.0, dataflow=b"plan").run_id,
        store.create_job("pipe_1", "job_4", 1, 4.0, dataflow=b"plan").run_id,
        store.create_job("pipe_2", "job_5", 1, 5.0, dataflow=b"plan").run_id,
    ]
    assert run_ids == [1, 2, 1, 3, 2]


def test_job_of_missing_pipeline_is_rejected(store: Store) -> None:
    with pytest.raises(NotFound):
        store.create_job("pipe_missing", "job_1", 1, 1.0, dataflow=b"plan")
    assert store.get_job("job_1") is None


def test_duplicate_job_id_is_rejected_without_using_a_run_id(
    store: Store, add_pipeline: Callable[..., PipelineRecord]
) -> None:
    add_pipeline("pipe_1")
    first = store.create_job("pipe_1", "job_1", 1, 1.0, dataflow=b"plan")
    with pytest.raises(AlreadyExists):
        store.create_job("pipe_1", "job_1", 2, 2.0, dataflow=b"plan")
    assert store.get_job("job_1") == first
    assert store.create_job("pipe_1", "job_2", 1, 3.0, dataflow=b"plan").run_id == 2


def test_concurrent_creates_get_distinct_consecutive_run_ids(
    store: Store, add_pipeline: Callable[..., PipelineRecord], open_store: Callable[..., Store]
) -> None:
    add_pipeline("pipe_1")
    writers = [open_store() for _ in range(8)]  # separate engines, as separate processes would be
    per_writer = 5

    def create(i: int) -> list[int]:
        return [
            writers[i].create_job("pipe_1", f"job_{i}_{k}", 1, float(k), dataflow=b"plan").run_id
            for k in range(per_writer)
        ]

    run_ids = [r for batch in run_in_threads(len(writers), create) for r in batch]

    assert sorted(run_ids) == list(range(1, len(writers) * per_writer + 1))
    jobs, _ = store.list_jobs(JobQuery(pipeline_id="pipe_1", limit=100))
    assert sorted(j.run_id for j in jobs) == sorted(run_ids)


# Transitions


def test_transitions_append_history_in_order_and_set_times(
    store: Store, add_pipeline: Callable[..., PipelineRecord]
) -> None:
    add_pipeline("pipe_1")
    store.create_job("pipe_1", "job_1", 2, 100.0, dataflow=b"plan")

    store.transition_job("job_1", "Scheduling", 101.0)
    running = store.transition_job("job_1", "Running", 102.0, tasks=3)
    assert running is not None
    assert (running.start_time, running.finish_time, running.tasks) == (102.0, None, 3)

    store.transition_job("job_1", "Recovering", 103.0)
    rerunning = store.transition_job("job_1", "Running", 104.0)
    assert rerunning is not None
    assert rerunning.start_time == 102.0  # the first time it ran
    assert rerunning.tasks == 3  # kept when not given

    store.transition_job("job_1", "Stopping", 105.0)
    stopped = store.transition_job("job_1", "Stopped", 106.0)

    assert stopped is not None
    assert stopped.state == "Stopped"
    assert (stopped.start_time, stopped.finish_time) == (102.0, 106.0)
    assert stopped.failure_message is None
    assert [tuple(t) for t in stopped.state_history] == [
        ("Created", 100.0),
        ("Scheduling", 101.0),
        ("Running", 102.0),
        ("Recovering", 103.0),
        ("Running", 104.0),
        ("Stopping", 105.0),
        ("Stopped", 106.0),
    ]
    assert store.get_job("job_1") == stopped


@pytest.mark.parametrize("final_state", ["Stopped", "Failed", "Finished"])
def test_entering_a_final_state_sets_finish_time(
    store: Store, add_pipeline: Callable[..., PipelineRecord], final_state: str
) -> None:
    add_pipeline("pipe_1")
    store.create_job("pipe_1", "job_1", 1, 100.0, dataflow=b"plan")
    job = store.transition_job("job_1", final_state, 150.0)
    assert job is not None
    assert (job.state, job.start_time, job.finish_time) == (final_state, None, 150.0)


def test_failure_message_is_stored(store: Store, add_pipeline: Callable[..., PipelineRecord]) -> None:
    add_pipeline("pipe_1")
    store.create_job("pipe_1", "job_1", 1, 100.0, dataflow=b"plan")
    failed = store.transition_job("job_1", "Failed", 110.0, failure_message="worker wrk_1 lost")
    assert failed is not None
    assert failed.failure_message == "worker wrk_1 lost"
    assert store.get_job("job_1") == failed


def test_transition_from_an_unexpected_state_changes_nothing(
    store: Store, add_pipeline: Callable[..., PipelineRecord]
) -> None:
    add_pipeline("pipe_1")
    created = store.create_job("pipe_1", "job_1", 1, 100.0, dataflow=b"plan")

    result = store.transition_job(
        "job_1", "Running", 110.0, from_states={"Scheduling", "Recovering"}, tasks=5, failure_message="x"
    )

    assert result is None
    assert store.get_job("job_1") == created
    moved = store.transition_job("job_1", "Scheduling", 120.0, from_states=["Created"])
    assert moved is not None
    assert moved.state == "Scheduling"


def test_only_one_of_concurrent_compare_and_set_transitions_wins(
    store: Store, add_pipeline: Callable[..., PipelineRecord], open_store: Callable[..., Store]
) -> None:
    add_pipeline("pipe_1")
    store.create_job("pipe_1", "job_1", 1, 100.0, dataflow=b"plan")
    writers = [open_store() for _ in range(8)]

    results = run_in_threads(
        len(writers),
        lambda i: writers[i].transition_job("job_1", "Scheduling", 200.0 + i, from_states={"Created"}),
    )

    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    job = store.get_job("job_1")
    assert job == winners[0]
    assert [t.state for t in job.state_history] == ["Created", "Scheduling"]


def test_concurrent_unconditional_transitions_all_land_in_history(
    store: Store, add_pipeline: Callable[..., PipelineRecord], open_store: Callable[..., Store]
) -> None:
    add_pipeline("pipe_1")
    store.create_job("pipe_1", "job_1", 1, 100.0, dataflow=b"plan")
    writers = [open_store() for _ in range(6)]

    run_in_threads(len(writers), lambda i: writers[i].transition_job("job_1", "Recovering", 200.0 + i))

    job = store.get_job("job_1")
    assert job is not None
    assert len(job.state_history) == 1 + len(writers)
    assert sorted(t.at_ms for t in job.state_history[1:]) == [200.0 + i for i in range(len(writers))]


def test_missing_job_is_none(store: Store) -> None:
    assert store.get_job("job_missing") is None
    assert store.transition_job("job_missing", "Running", 1.0) is None
    assert store.set_running_desired("job_missing", False) is None


def test_unknown_state_names_are_rejected(store: Store, add_pipeline: Callable[..., PipelineRecord]) -> None:
    add_pipeline("pipe_1")
    created = store.create_job("pipe_1", "job_1", 1, 100.0, dataflow=b"plan")
    with pytest.raises(ValueError, match="unknown job state"):
        store.transition_job("job_1", "RUNNING", 110.0)
    with pytest.raises(ValueError, match="unknown job state"):
        store.transition_job("job_1", "Running", 110.0, from_states={"Created", "Pending"})
    with pytest.raises(ValueError, match="unknown job state"):
        JobQuery(state="running")
    assert store.get_job("job_1") == created


def test_running_desired_records_intent_without_touching_state(
    store: Store, add_pipeline: Callable[..., PipelineRecord]
) -> None:
    add_pipeline("pipe_1")
    created = store.create_job("pipe_1", "job_1", 1, 100.0, dataflow=b"plan")

    stopped = store.set_running_desired("job_1", False)

    assert stopped is not None
    assert stopped.running_desired is False
    assert (stopped.state, stopped.state_history) == (created.state, created.state_history)
    assert store.get_job("job_1") == stopped


def test_unfinished_jobs_are_listed_oldest_first(
    store: Store, add_pipeline: Callable[..., PipelineRecord]
) -> None:
    add_pipeline("pipe_1")
    for i, state in enumerate(["Running", "Stopped", "Recovering", "Failed", "Created", "Finished"]):
        store.create_job("pipe_1", f"job_{i}", 1, 100.0 + i, dataflow=b"plan")
        if state != "Created":
            store.transition_job(f"job_{i}", state, 200.0 + i)

    assert [(j.id, j.state) for j in store.list_unfinished_jobs()] == [
        ("job_0", "Running"),
        ("job_2", "Recovering"),
        ("job_4", "Created"),
    ]


# Listing


@pytest.fixture
def jobs(store: Store, add_pipeline: Callable[..., PipelineRecord]) -> list[JobRecord]:
    """Five jobs over two pipelines, with ties in created_at and run_id and unset times."""
    add_pipeline("pipe_1")
    add_pipeline("pipe_2")
    store.create_job("pipe_1", "job_1", 1, 100.0, dataflow=b"plan")
    store.transition_job("job_1", "Scheduling", 101.0)
    store.transition_job("job_1", "Running", 102.0)
    store.create_job("pipe_1", "job_2", 1, 200.0, dataflow=b"plan")
    store.transition_job("job_2", "Running", 205.0)
    store.transition_job("job_2", "Stopped", 210.0)
    store.set_running_desired("job_2", False)
    store.create_job("pipe_2", "job_3", 1, 200.0, dataflow=b"plan")
    store.transition_job("job_3", "Failed", 250.0, failure_message="boom")
    store.create_job("pipe_2", "job_4", 1, 300.0, dataflow=b"plan")
    store.set_running_desired("job_4", False)
    store.create_job("pipe_1", "job_5", 1, 400.0, dataflow=b"plan")
    store.transition_job("job_5", "Running", 401.0)
    store.transition_job("job_5", "Finished", 450.0)
    return [store.get_job(f"job_{i}") for i in range(1, 6)]


def ids(page: tuple[list[JobRecord], bool]) -> tuple[list[str], bool]:
    return [j.id for j in page[0]], page[1]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (JobQuery(), ["job_5", "job_4", "job_3", "job_2", "job_1"]),
        (JobQuery(pipeline_id="pipe_1"), ["job_5", "job_2", "job_1"]),
        (JobQuery(state="Running"), ["job_1"]),
        (JobQuery(running=True), ["job_5", "job_3", "job_1"]),
        (JobQuery(running=False), ["job_4", "job_2"]),
        (JobQuery(pipeline_id="pipe_2", running=True), ["job_3"]),
        (JobQuery(pipeline_id="pipe_1", state="Stopped", running=False), ["job_2"]),
        (JobQuery(pipeline_id="pipe_1", state="Stopped", running=True), []),
        (JobQuery(pipeline_id="pipe_missing"), []),
    ],
)
def test_filters_combine_with_and(
    store: Store, jobs: list[JobRecord], query: JobQuery, expected: list[str]
) -> None:
    assert ids(store.list_jobs(query)) == (expected, False)


def summary_of(job: JobRecord) -> JobSummary:
    return JobSummary(**{field.name: getattr(job, field.name) for field in dataclasses.fields(JobSummary)})


def test_listed_jobs_are_summaries_of_the_records(store: Store, jobs: list[JobRecord]) -> None:
    listed, _ = store.list_jobs(JobQuery(sort_field="id", descending=False))
    assert listed == [summary_of(job) for job in jobs]


def test_job_summary_agrees_with_the_record(store: Store, jobs: list[JobRecord]) -> None:
    assert [store.get_job_summary(job.id) for job in jobs] == [summary_of(job) for job in jobs]
    assert store.get_job_summary("job_missing") is None


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("field", sorted(JOB_SORT_FIELDS))
def test_sort_by_field_then_id_with_unset_values_last(
    store: Store, jobs: list[JobRecord], field: str, descending: bool
) -> None:
    with_value = sorted(
        (j for j in jobs if getattr(j, field) is not None),
        key=lambda j: (getattr(j, field), j.id),
        reverse=descending,
    )
    without = sorted((j for j in jobs if getattr(j, field) is None), key=lambda j: j.id, reverse=descending)

    listed = store.list_jobs(JobQuery(sort_field=field, descending=descending))

    assert ids(listed) == ([j.id for j in with_value + without], False)


def test_pages_cover_the_list_once_and_say_whether_more_follow(store: Store, jobs: list[JobRecord]) -> None:
    everything = ["job_5", "job_4", "job_3", "job_2", "job_1"]
    assert ids(store.list_jobs(JobQuery(limit=2, offset=0))) == (everything[0:2], True)
    assert ids(store.list_jobs(JobQuery(limit=2, offset=2))) == (everything[2:4], True)
    assert ids(store.list_jobs(JobQuery(limit=2, offset=4))) == (everything[4:], False)
    assert ids(store.list_jobs(JobQuery(limit=5))) == (everything, False)
    assert ids(store.list_jobs(JobQuery(limit=4, offset=1))) == (everything[1:], False)
    assert ids(store.list_jobs(JobQuery(limit=3, offset=5))) == ([], False)
    assert ids(store.list_jobs(JobQuery(pipeline_id="pipe_1", limit=2))) == (["job_5", "job_2"], True)


@pytest.mark.parametrize(
    "kwargs",
    [{"sort_field": "name"}, {"sort_field": "created_at; DROP TABLE jobs"}, {"limit": -1}, {"offset": -1}],
)
def test_bad_queries_are_rejected(store: Store, jobs: list[JobRecord], kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        store.list_jobs(JobQuery(**kwargs))
