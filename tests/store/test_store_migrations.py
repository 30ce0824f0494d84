"""Migrations: idempotent, safe to run from two processes at once, in step with the models."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from services.store import PipelineRecord, ReadOnlyStore, Store
from services.store.models import Base


def test_migrate_is_idempotent(open_store: Callable[..., Store], database_url: str) -> None:
    store = open_store()
    assert not store.is_current()

    store.migrate()
    store.migrate()

    assert store.is_current()
    engine = create_engine(database_url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"alembic_version", "pipelines", "jobs", "job_state_transitions"} <= tables


def test_migrations_create_exactly_the_models(store: Store, database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()
    assert diff == []


def test_concurrent_migrations_take_turns(open_store: Callable[..., Store]) -> None:
    stores = [open_store() for _ in range(4)]
    start = threading.Barrier(len(stores))
    errors: list[BaseException] = []

    def migrate(store: Store) -> None:
        start.wait()
        try:
            store.migrate()
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=migrate, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert all(s.is_current() for s in stores)


def test_read_only_store_reads_but_never_writes_or_migrates(open_store: Callable[..., Store]) -> None:
    reader = open_store(read_only=True)
    with pytest.raises(ReadOnlyStore):
        reader.migrate()

    writer = open_store()
    writer.migrate()
    assert reader.is_current()
    pipeline = PipelineRecord("pipe_1", "p", "SELECT 1", 1, 10_000, 1.0, b"")
    writer.create_pipeline(pipeline)
    job = writer.create_job("pipe_1", "job_1", 1, 2.0, dataflow=b"plan")

    assert reader.get_pipeline("pipe_1") == pipeline
    assert reader.get_job("job_1") == job
    with pytest.raises(ReadOnlyStore):
        reader.create_pipeline(PipelineRecord("pipe_2", "p", "SELECT 1", 1, 10_000, 1.0, b""))
    with pytest.raises(ReadOnlyStore):
        reader.transition_job("job_1", "Scheduling", 3.0)
    assert reader.get_job("job_1") == job
