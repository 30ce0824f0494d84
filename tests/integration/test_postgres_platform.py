"""The platform with its store on the real local PostgreSQL instead of SQLite."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import fresh_postgres_database, start_platform, stop_platform, wait_for
from tests.integration.test_first_pipeline import FILTER_QUERY, create_pipeline, job, only_job_of


def test_pipeline_runs_on_postgres(tmp_path: Path) -> None:
    with fresh_postgres_database() as database_url:
        platform = start_platform(tmp_path / "data", workers=1, database_url=database_url)
        try:
            pipeline = create_pipeline(platform, FILTER_QUERY)
            job_id = only_job_of(platform, pipeline["id"])["id"]
            wait_for(lambda: job(platform, job_id)["state"] == "Running", what="job Running on PostgreSQL")
            wait_for(lambda: job(platform, job_id)["metrics"]["records_in"] > 0, what="records on PostgreSQL")
            assert not (tmp_path / "data" / "weir.db").exists()
        finally:
            stop_platform(platform)
