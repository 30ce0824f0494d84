"""`JobLogStore`: filtered newest-first pages, idempotent appends, retention by count and age,
on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from services.store import (
    JobErrorRecord,
    JobLogRecord,
    JobLogStore,
    JobRecord,
    LogRetention,
    PipelineRecord,
    ReadOnlyStore,
    Store,
)

NOW = 1_704_067_200_000.0


@pytest.fixture
def add_job(store: Store, add_pipeline: Callable[..., PipelineRecord]) -> Callable[[], JobRecord]:
    counter = iter(range(1, 1_000_000))

    def add() -> JobRecord:
        pipeline = add_pipeline()
        return store.create_job(pipeline.id, f"job_{next(counter):026d}", 1, NOW, dataflow=b"")

    return add


def _log(job_id: str, n: int, timestamp: float, level: str = "info", **fields: object) -> JobLogRecord:
    return JobLogRecord(f"log_{n:026d}", job_id, timestamp, level, f"m{n}", **fields)  # type: ignore[arg-type]


def _error(job_id: str, n: int, timestamp: float, level: str = "error", **fields: object) -> JobErrorRecord:
    return JobErrorRecord(f"err_{n:026d}", job_id, timestamp, level, f"e{n}", **fields)  # type: ignore[arg-type]


def test_logs_newest_first_with_every_filter(store: Store, add_job: Callable[[], JobRecord]) -> None:
    job, other = add_job().id, add_job().id
    logs = JobLogStore(store)
    entries = [
        _log(job, 1, NOW + 1, "info", details={"workers": ["wrk_a", "wrk_b"], "n": 2}),
        _log(job, 2, NOW + 2, "warn", operator_id="source_1", task_index=1),
        _log(job, 3, NOW + 3, "info", operator_id="source_1", task_index=0),
        _log(job, 4, NOW + 4, "error", operator_id="sink_3", task_index=0),
        # Same timestamp as entry 4: ordered by id after timestamp.
        _log(job, 5, NOW + 4, "info", operator_id="sink_3", task_index=0),
        _log(other, 6, NOW + 5, "info"),
    ]
    assert logs.append(list(reversed(entries)), [], NOW) == 6

    def messages(**filters: object) -> list[str]:
        page, _ = logs.list_logs(job, **filters)  # type: ignore[arg-type]
        return [e.message for e in page]

    assert messages() == ["m5", "m4", "m3", "m2", "m1"]
    assert messages(level="info") == ["m5", "m3", "m1"]
    assert messages(operator_id="source_1") == ["m3", "m2"]
    assert messages(task_index=0) == ["m5", "m4", "m3"]
    assert messages(since=NOW + 2, until=NOW + 4) == ["m3", "m2"]
    assert messages(level="warn", operator_id="source_1", task_index=1) == ["m2"]
    page, has_more = logs.list_logs(job, limit=2)
    assert ([e.message for e in page], has_more) == (["m5", "m4"], True)
    page, has_more = logs.list_logs(job, limit=5)
    assert has_more is False
    controller_entry = page[-1]
    assert controller_entry == entries[0]
    assert (controller_entry.operator_id, controller_entry.task_index) == ("", None)
    assert dict(controller_entry.details) == {"workers": ["wrk_a", "wrk_b"], "n": 2}


def test_errors_newest_first_with_filters(store: Store, add_job: Callable[[], JobRecord]) -> None:
    job = add_job().id
    logs = JobLogStore(store)
    errors = [
        _error(job, 1, NOW + 1, "error", operator_id="source_1", task_index=0, record='{"bad json'),
        _error(job, 2, NOW + 2, "warning", operator_id="filter_2", task_index=1, details="slow"),
        _error(job, 3, NOW + 3, "error", operator_id="filter_2", task_index=0),
    ]
    logs.append([], errors, NOW)

    page, has_more = logs.list_errors(job)
    assert (page, has_more) == (errors[::-1], False)
    assert [e.message for e in logs.list_errors(job, level="error")[0]] == ["e3", "e1"]
    assert [e.message for e in logs.list_errors(job, operator_id="filter_2")[0]] == ["e3", "e2"]
    assert logs.list_errors(job, limit=1) == ([errors[2]], True)


def test_resent_entries_and_unknown_jobs_are_skipped(store: Store, add_job: Callable[[], JobRecord]) -> None:
    job = add_job().id
    logs = JobLogStore(store)
    assert logs.append([_log(job, 1, NOW)], [_error(job, 1, NOW)], NOW) == 2
    # A resend of the same ids, plus entries of a job that does not exist, in one batch.
    unknown = "job_01JDX3N4Q5R6S7T8V9W0X1Y2Z9"
    resent = logs.append([_log(job, 1, NOW), _log(unknown, 2, NOW)], [_error(job, 1, NOW)], NOW)
    assert resent == 0
    assert logs.count(job) == (1, 1)
    assert logs.count(unknown) == (0, 0)


def test_retention_keeps_the_newest_entries_per_job(store: Store, add_job: Callable[[], JobRecord]) -> None:
    job, other = add_job().id, add_job().id
    logs = JobLogStore(store, LogRetention(max_entries=3, max_age_ms=None))
    logs.append(
        [_log(job, n, NOW + n) for n in range(1, 5)], [_error(job, n, NOW + n) for n in range(1, 3)], NOW
    )
    logs.append([_log(other, 100, NOW)], [], NOW)
    # A later batch (arriving out of order) trims again.
    logs.append(
        [_log(job, 5, NOW + 5), _log(job, 0, NOW)], [_error(job, n, NOW + n) for n in range(3, 6)], NOW
    )

    assert [e.message for e in logs.list_logs(job, limit=100)[0]] == ["m5", "m4", "m3"]
    assert [e.message for e in logs.list_errors(job, limit=100)[0]] == ["e5", "e4", "e3"]
    assert logs.count(other) == (1, 0)


def test_retention_by_age_on_write_and_by_sweep(store: Store, add_job: Callable[[], JobRecord]) -> None:
    busy, quiet = add_job().id, add_job().id
    logs = JobLogStore(store, LogRetention(max_entries=100, max_age_ms=1_000))
    # Already expired on arrival: not stored.
    assert logs.append([_log(busy, 1, NOW - 1_001)], [_error(busy, 1, NOW - 1_001)], NOW) == 0
    logs.append([_log(busy, 2, NOW - 500), _log(quiet, 3, NOW - 500)], [_error(quiet, 3, NOW - 500)], NOW)
    logs.append([_log(busy, 4, NOW + 600)], [], NOW + 600)
    # Writing to `busy` expired its old entry; `quiet` received nothing, so it still has its own.
    assert [e.message for e in logs.list_logs(busy)[0]] == ["m4"]
    assert logs.count(quiet) == (1, 1)

    assert logs.expire(NOW + 600) == 2
    assert logs.count(quiet) == (0, 0)
    assert logs.count(busy) == (1, 0)
    assert logs.expire(NOW + 600) == 0


def test_deleting_a_pipeline_deletes_its_jobs_logs(
    store: Store, add_pipeline: Callable[..., PipelineRecord]
) -> None:
    pipeline = add_pipeline()
    job = store.create_job(pipeline.id, "job_" + "1" * 26, 1, NOW, dataflow=b"").id
    logs = JobLogStore(store)
    logs.append([_log(job, 1, NOW)], [_error(job, 1, NOW)], NOW)
    assert store.delete_pipeline(pipeline.id)
    assert logs.count(job) == (0, 0)


def test_a_read_only_store_lists_but_does_not_append(
    store: Store, open_store: Callable[..., Store], add_job: Callable[[], JobRecord]
) -> None:
    job = add_job().id
    JobLogStore(store).append([_log(job, 1, NOW)], [], NOW)
    reader = JobLogStore(open_store(read_only=True))
    assert [e.message for e in reader.list_logs(job)[0]] == ["m1"]
    with pytest.raises(ReadOnlyStore):
        reader.append([_log(job, 2, NOW)], [], NOW)


def test_levels_and_bounds_are_checked() -> None:
    with pytest.raises(ValueError, match="log level"):
        JobLogRecord("log_1", "job_1", NOW, "warning", "m")
    with pytest.raises(ValueError, match="error level"):
        JobErrorRecord("err_1", "job_1", NOW, "warn", "m")
    with pytest.raises(ValueError):
        LogRetention(max_entries=0)
    with pytest.raises(ValueError):
        LogRetention(max_age_ms=0)
