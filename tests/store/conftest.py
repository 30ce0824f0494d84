"""Fixtures for the store tests: every test runs against a SQLite file and a real PostgreSQL
(the session's throwaway database, `postgres_url` from tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import create_engine

from services.store import PipelineRecord, Store


def _empty_postgres_schema(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP SCHEMA public CASCADE")
        connection.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """An empty database: a new SQLite file, or the session's PostgreSQL database emptied."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'weir.db'}"
    url = request.getfixturevalue("postgres_url")
    _empty_postgres_schema(url)
    return url


@pytest.fixture
def open_store(database_url: str) -> Iterator[Callable[..., Store]]:
    """Opens more `Store`s on the test's database (as other processes would); closes them after."""
    stores: list[Store] = []

    def open_(*, read_only: bool = False) -> Store:
        store = Store(database_url, read_only=read_only)
        stores.append(store)
        return store

    yield open_
    for store in stores:
        store.close()


@pytest.fixture
def store(open_store: Callable[..., Store]) -> Store:
    """A migrated store on an empty database."""
    store = open_store()
    store.migrate()
    return store


@pytest.fixture
def add_pipeline(store: Store) -> Callable[..., PipelineRecord]:
    """Creates a pipeline in `store` and returns its record; fields default to plain values."""
    counter = iter(range(1, 1_000_000))

    def add(pipeline_id: str | None = None, *, created_at: float | None = None) -> PipelineRecord:
        n = next(counter)
        record = PipelineRecord(
            id=pipeline_id or f"pipe_{n:026d}",
            name=f"pipeline {n}",
            query="SELECT 1",
            parallelism=1,
            checkpoint_interval_ms=10_000,
            created_at=1_704_067_200_000.0 + n if created_at is None else created_at,
            dataflow=b"",
        )
        store.create_pipeline(record)
        return record

    return add
