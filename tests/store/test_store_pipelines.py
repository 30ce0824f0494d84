"""Pipelines: round trip, listing newest first with paging, deletion cascading to jobs."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import create_engine, func, select

from services.store import AlreadyExists, PipelineRecord, Store
from services.store.models import JobStateTransitionRow
from weir.v1 import dataflow_pb2


def test_pipeline_round_trips_every_field(store: Store) -> None:
    dataflow = dataflow_pb2.Dataflow(
        operators=[dataflow_pb2.Operator(id="source_1", name="nexmark", parallelism=4)]
    )
    record = PipelineRecord(
        id="pipe_01JDX3ZQ6V8Y9W2N4K5M7P8R9T",
        name="bids per auction",
        query="SELECT * FROM bids",
        parallelism=4,
        checkpoint_interval_ms=10_000,
        created_at=1_704_067_200_123.0,  # beyond 2^31 and 2^32: must come back exact
        dataflow=dataflow.SerializeToString(),
    )
    store.create_pipeline(record)

    loaded = store.get_pipeline(record.id)
    assert loaded == record
    assert dataflow_pb2.Dataflow.FromString(loaded.dataflow) == dataflow


def test_missing_pipeline_is_none(store: Store) -> None:
    assert store.get_pipeline("pipe_missing") is None


def test_duplicate_pipeline_id_is_rejected(store: Store, add_pipeline: Callable[..., PipelineRecord]) -> None:
    first = add_pipeline("pipe_1")
    with pytest.raises(AlreadyExists):
        add_pipeline("pipe_1", created_at=99.0)
    assert store.get_pipeline("pipe_1") == first


def test_pipelines_list_newest_first_in_pages(
    store: Store, add_pipeline: Callable[..., PipelineRecord]
) -> None:
    a = add_pipeline("pipe_a", created_at=1.0)
    b = add_pipeline("pipe_b", created_at=2.0)
    c = add_pipeline("pipe_c", created_at=2.0)  # same ms as b: the larger id is newer
    d = add_pipeline("pipe_d", created_at=3.0)

    assert store.list_pipelines(limit=2, offset=0) == ([d, c], True)
    assert store.list_pipelines(limit=2, offset=2) == ([b, a], False)
    assert store.list_pipelines(limit=4, offset=0) == ([d, c, b, a], False)
    assert store.list_pipelines(limit=3, offset=0) == ([d, c, b], True)
    assert store.list_pipelines(limit=2, offset=4) == ([], False)


def test_delete_pipeline_deletes_its_jobs_and_their_history(
    store: Store, add_pipeline: Callable[..., PipelineRecord], database_url: str
) -> None:
    add_pipeline("pipe_gone")
    add_pipeline("pipe_kept")
    store.create_job("pipe_gone", "job_gone_1", 1, 10.0, dataflow=b"plan")
    store.create_job("pipe_gone", "job_gone_2", 1, 11.0, dataflow=b"plan")
    store.transition_job("job_gone_2", "Scheduling", 12.0)
    kept = store.create_job("pipe_kept", "job_kept", 1, 13.0, dataflow=b"plan")

    assert store.delete_pipeline("pipe_gone") is True

    assert store.get_pipeline("pipe_gone") is None
    assert store.get_job("job_gone_1") is None
    assert store.get_job("job_gone_2") is None
    assert store.get_job("job_kept") == kept
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            history_rows = connection.scalar(
                select(func.count())
                .select_from(JobStateTransitionRow)
                .where(JobStateTransitionRow.job_id.like("job_gone%"))
            )
    finally:
        engine.dispose()
    assert history_rows == 0
    assert store.delete_pipeline("pipe_gone") is False
