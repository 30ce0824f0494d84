"""File connectors through the real platform: `weir up --allow-path DIR`, a single_file
source filtered into a filesystem sink and a single_file sink, and paths outside the allowed
directories refused when the pipeline is created."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from tests.conftest import RunningPlatform, start_platform, stop_platform, wait_for

ROWS = [{"id": i, "name": f"user {i}", "score": (i * 37) % 101} for i in range(2000)]


@pytest.fixture(scope="module")
def allowed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("allowed").resolve()
    (directory / "input.json").write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    return directory


@pytest.fixture(scope="module")
def file_platform(tmp_path_factory: pytest.TempPathFactory, allowed: Path) -> Iterator[RunningPlatform]:
    running = start_platform(
        tmp_path_factory.mktemp("weir") / "data", workers=1, extra=["--allow-path", str(allowed)]
    )
    try:
        yield running
    finally:
        stop_platform(running)


def _create(platform: RunningPlatform, query: str, parallelism: int = 1) -> Any:
    return platform.rest.post(
        "/api/v1/pipelines",
        json={
            "name": "files",
            "query": query,
            "parallelism": parallelism,
            "checkpoint_interval_ms": 3_600_000,
        },
    )


def _finished(platform: RunningPlatform, pipeline_id: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        jobs = platform.rest.get("/api/v1/jobs", params={"pipeline_id": pipeline_id}).json()["data"]
        assert jobs and jobs[0]["state"] != "Failed", jobs
        return jobs[0] if jobs[0]["state"] == "Finished" else None

    return wait_for(done, timeout_s=60, what="the job to finish")


def _source(path: str) -> str:
    return (
        "CREATE TABLE users (id BIGINT NOT NULL, name TEXT, score BIGINT) WITH (\n"
        f"  connector = 'single_file', path = '{path}', format = 'json', type = 'source');\n"
    )


def test_single_file_filtered_into_a_filesystem_and_a_single_file_sink(
    file_platform: RunningPlatform, allowed: Path
) -> None:
    query = (
        _source(str(allowed / "input.json"))
        + f"CREATE TABLE out_dir WITH (connector = 'filesystem', path = '{allowed / 'out'}', "
        "format = 'json');\n"
        + f"CREATE TABLE out_file WITH (connector = 'single_file', path = '{allowed / 'out.json'}', "
        "type = 'sink');\n"
        "INSERT INTO out_dir SELECT id, name, score * 2 AS doubled FROM users WHERE score > 50;\n"
    )
    response = _create(file_platform, query)
    assert response.status_code == 200, response.text
    _finished(file_platform, response.json()["id"])
    expected = (
        pl.DataFrame(ROWS)
        .filter(pl.col("score") > 50)
        .select("id", "name", (pl.col("score") * 2).alias("doubled"))
    )
    visible = [p for p in (allowed / "out").iterdir() if not p.name.startswith(".")]
    assert len(visible) == 1 and visible[0].suffix == ".json"
    got = pl.read_ndjson(visible[0])
    assert got.sort("id").equals(expected)
    assert visible[0].read_text() == expected.write_ndjson()

    second = _create(
        file_platform,
        _source(str(allowed / "input.json"))
        + f"CREATE TABLE out_file WITH (connector = 'single_file', path = '{allowed / 'out.json'}', "
        "type = 'sink');\n"
        "INSERT INTO out_file SELECT id, name FROM users WHERE score > 50;\n",
    )
    assert second.status_code == 200, second.text
    _finished(file_platform, second.json()["id"])
    assert (allowed / "out.json").read_text() == expected.select("id", "name").write_ndjson()


@pytest.mark.parametrize(
    "escape", ["/etc/passwd", "{allowed}/../outside.json", "{allowed}/link/outside.json"]
)
def test_paths_outside_the_allowed_directories_are_a_400(
    file_platform: RunningPlatform, allowed: Path, escape: str
) -> None:
    link = allowed / "link"
    if not link.exists():
        os.symlink(allowed.parent, link)
    path = escape.format(allowed=allowed)
    response = _create(file_platform, _source(path) + "SELECT * FROM users")
    assert response.status_code == 400, response.text
    message = response.json()["message"]
    assert "outside the allowed directories" in message and "path" in message, message
    assert "line 2" in message, message
