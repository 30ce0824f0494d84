"""Checkpoints: lifecycle (in_progress -> completed | failed, compare-and-set), sizes per
subtask, listing, the job's restore source, and what retention may delete."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from services.store import (
    AlreadyExists,
    CheckpointRecord,
    NotFound,
    PipelineRecord,
    Store,
    SubtaskStateSize,
)

T0 = 1_704_067_200_000.0


@pytest.fixture
def job_id(store: Store, add_pipeline: Callable[..., PipelineRecord]) -> str:
    pipeline = add_pipeline()
    return store.create_job(pipeline.id, "job_1", 1, T0, dataflow=b"").id


def start(store: Store, job_id: str, epoch: int) -> CheckpointRecord:
    return store.create_checkpoint(
        f"chk_{job_id}_{epoch}",
        job_id,
        epoch,
        T0 + epoch,
        backend="filesystem",
        location=f"file:///c/{job_id}/epoch_{epoch}",
    )


def complete(store: Store, job_id: str, epoch: int) -> CheckpointRecord:
    start(store, job_id, epoch)
    done = store.complete_checkpoint(f"chk_{job_id}_{epoch}", T0 + epoch + 0.5, [])
    assert done is not None
    return done


def test_checkpoint_completes_with_sizes_per_subtask(store: Store, job_id: str) -> None:
    started = start(store, job_id, 1)
    assert started.state == "in_progress"
    assert started.finish_time is None and started.size_bytes == 0 and started.subtask_states == ()

    sizes = [
        SubtaskStateSize("window_2", 1, 300),
        SubtaskStateSize("source_1", 0, 10),
        SubtaskStateSize("window_2", 0, 200),
    ]
    done = store.complete_checkpoint(started.id, T0 + 5, sizes)

    assert done is not None
    assert (done.state, done.finish_time, done.size_bytes) == ("completed", T0 + 5, 510)
    assert done.subtask_states == (
        SubtaskStateSize("source_1", 0, 10),
        SubtaskStateSize("window_2", 0, 200),
        SubtaskStateSize("window_2", 1, 300),
    )
    assert done.location == "file:///c/job_1/epoch_1" and done.backend == "filesystem"
    assert store.get_checkpoint(started.id) == done
    # Compare-and-set: a completed checkpoint neither completes again nor fails.
    assert store.complete_checkpoint(started.id, T0 + 6, []) is None
    assert store.fail_checkpoints(job_id, T0 + 6, "late", checkpoint_id=started.id) == []


def test_failing_one_or_every_in_progress_checkpoint(store: Store, job_id: str) -> None:
    complete(store, job_id, 1)
    start(store, job_id, 2)
    start(store, job_id, 3)

    [failed] = store.fail_checkpoints(job_id, T0 + 9, "timed out", checkpoint_id="chk_job_1_2")
    assert (failed.epoch, failed.state, failed.failure_message) == (2, "failed", "timed out")

    abandoned = store.fail_checkpoints(job_id, T0 + 10, "controller restarted")
    assert [c.epoch for c in abandoned] == [3]
    assert store.get_checkpoint("chk_job_1_1").state == "completed"


def test_epochs_are_unique_per_job_and_the_job_must_exist(store: Store, job_id: str) -> None:
    start(store, job_id, 1)
    with pytest.raises(AlreadyExists):
        store.create_checkpoint("chk_other", job_id, 1, T0, backend="filesystem", location="x")
    with pytest.raises(NotFound):
        store.create_checkpoint("chk_x", "job_missing", 1, T0, backend="filesystem", location="x")
    assert store.last_checkpoint_epoch(job_id) == 1
    assert store.last_checkpoint_epoch("job_missing") == 0


def test_listing_newest_first_filtered_and_paged(store: Store, job_id: str) -> None:
    for epoch in (1, 2, 3):
        complete(store, job_id, epoch)
    start(store, job_id, 4)
    store.fail_checkpoints(job_id, T0, "timed out")
    start(store, job_id, 5)

    every, more = store.list_checkpoints(job_id)
    assert [c.epoch for c in every] == [5, 4, 3, 2, 1] and not more
    completed, _ = store.list_checkpoints(job_id, completed=True)
    assert [c.epoch for c in completed] == [3, 2, 1]
    not_completed, _ = store.list_checkpoints(job_id, completed=False)
    assert [c.epoch for c in not_completed] == [5, 4]
    page, more = store.list_checkpoints(job_id, limit=2, offset=1)
    assert [c.epoch for c in page] == [4, 3] and more
    assert store.latest_completed_checkpoint(job_id).epoch == 3


def test_retention_keeps_the_newest_completed_and_what_a_restore_needs(
    store: Store, job_id: str, add_pipeline: Callable[..., PipelineRecord]
) -> None:
    for epoch in range(1, 7):
        complete(store, job_id, epoch)
    start(store, job_id, 7)
    store.fail_checkpoints(job_id, T0, "timed out")
    start(store, job_id, 8)

    assert [c.epoch for c in store.expired_checkpoints(job_id, keep_completed=3)] == [1, 2, 3]

    # An unfinished job restoring epoch 2 keeps it; once that job is over it may go.
    pipeline = store.get_job(job_id).pipeline_id
    restoring = store.create_job(pipeline, "job_2", 2, T0, dataflow=b"", restore_checkpoint_id="chk_job_1_2")
    assert restoring.restore_checkpoint_id == "chk_job_1_2"
    assert [c.epoch for c in store.expired_checkpoints(job_id, keep_completed=3)] == [1, 3]
    store.transition_job("job_2", "Failed", T0 + 1)
    expired = store.expired_checkpoints(job_id, keep_completed=3)
    assert [c.epoch for c in expired] == [1, 2, 3]

    assert store.delete_checkpoints([c.id for c in expired]) == 3
    remaining, _ = store.list_checkpoints(job_id)
    assert [c.epoch for c in remaining] == [8, 7, 6, 5, 4]
    assert store.expired_checkpoints(job_id, keep_completed=3) == []


def test_deleting_a_job_deletes_its_checkpoints(store: Store, job_id: str) -> None:
    done = store.complete_checkpoint(start(store, job_id, 1).id, T0, [SubtaskStateSize("s", 0, 1)])
    assert done is not None
    store.delete_pipeline(store.get_job(job_id).pipeline_id)
    assert store.get_checkpoint(done.id) is None


def test_pipelines_keep_five_checkpoints_unless_told(
    store: Store, add_pipeline: Callable[..., PipelineRecord]
) -> None:
    assert add_pipeline().checkpoints_retained == 5
    record = PipelineRecord("pipe_k", "k", "SELECT 1", 1, 10_000, T0, b"", checkpoints_retained=2)
    store.create_pipeline(record)
    assert store.get_pipeline("pipe_k").checkpoints_retained == 2
