"""One platform, with a running job, for the interop tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import RunningPlatform, start_platform, stop_platform, wait_for

QUERY = """CREATE TABLE impulse WITH (connector = 'impulse', event_rate = '50');
SELECT counter FROM impulse"""


@pytest.fixture(scope="package")
def interop_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPlatform]:
    platform = start_platform(tmp_path_factory.mktemp("interop") / "data")
    try:
        yield platform
    finally:
        stop_platform(platform)


@pytest.fixture(scope="package")
def running_job_id(interop_platform: RunningPlatform) -> str:
    rest = interop_platform.rest
    created = rest.post("/api/v1/pipelines", json={"name": "interop", "query": QUERY})
    assert created.status_code == 200, created.text
    job_id: str = rest.get(f"/api/v1/pipelines/{created.json()['id']}/jobs").json()["data"][0]["id"]
    wait_for(lambda: rest.get(f"/api/v1/jobs/{job_id}").json()["state"] == "Running", what="the job to run")
    return job_id
