"""Checkpoints through the real platform (`weir up`: controller, workers, metrics, gateway as
processes): periodic checkpoints with their sizes and files, the final checkpoint of a stop
in `checkpoint` mode, restarts from a checkpoint (also at another parallelism) that continue
exactly where the first run stopped, and retention. SQLite store; the tests that store the
most run on PostgreSQL too."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest

from tests.conftest import RunningPlatform, fresh_postgres_database, start_platform, stop_platform, wait_for
from tests.integration.test_first_pipeline import job

# Paced so that a run lasts seconds and every row stays within the preview's kept sample
# (at most 200 rows per worker and telemetry report).
BOUNDED_ROWS_PER_SUBTASK = 240
BOUNDED_QUERY = f"""CREATE TABLE impulse WITH (
    connector = 'impulse', event_rate = '150', message_count = '{BOUNDED_ROWS_PER_SUBTASK}');
SELECT counter, subtask_index FROM impulse"""
UNBOUNDED_QUERY = """CREATE TABLE impulse WITH (connector = 'impulse', event_rate = '500');
SELECT counter, subtask_index FROM impulse"""


@pytest.fixture(scope="module")
def postgres_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPlatform]:
    with fresh_postgres_database() as database_url:
        running = start_platform(tmp_path_factory.mktemp("weir-pg") / "data", database_url=database_url)
        try:
            yield running
        finally:
            stop_platform(running)


@pytest.fixture(params=["sqlite", "postgresql"])
def any_platform(request: pytest.FixtureRequest) -> RunningPlatform:
    """The module's platform on SQLite, or one on PostgreSQL."""
    return request.getfixturevalue("platform" if request.param == "sqlite" else "postgres_platform")


def start_job(
    platform: RunningPlatform, query: str, parallelism: int, interval_ms: int, **settings: Any
) -> str:
    response = platform.rest.post(
        "/api/v1/pipelines",
        json={
            "name": "checkpointed",
            "query": query,
            "parallelism": parallelism,
            "checkpoint_interval_ms": interval_ms,
            **settings,
        },
    )
    assert response.status_code == 200, response.text
    jobs = platform.rest.get("/api/v1/jobs", params={"pipeline_id": response.json()["id"]}).json()["data"]
    return jobs[0]["id"]


def checkpoints(platform: RunningPlatform, job_id: str, **params: Any) -> list[dict[str, Any]]:
    response = platform.rest.get(f"/api/v1/jobs/{job_id}/checkpoints", params=params)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def completed(platform: RunningPlatform, job_id: str) -> list[dict[str, Any]]:
    return checkpoints(platform, job_id, completed="true")


def wait_state(platform: RunningPlatform, job_id: str, state: str, timeout_s: float = 30) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        current = job(platform, job_id)
        assert current["state"] not in {"Failed"} - {state}, current
        return current if current["state"] == state else None

    return wait_for(reached, timeout_s=timeout_s, what=f"job {job_id} {state}")


def stop(platform: RunningPlatform, job_id: str, mode: str) -> None:
    response = platform.rest.post(f"/api/v1/jobs/{job_id}/stop", json={"mode": mode, "timeout_seconds": 20})
    assert response.status_code == 200, response.text
    wait_state(platform, job_id, "Stopped")


def restart(platform: RunningPlatform, job_id: str, **body: Any) -> httpx.Response:
    return platform.rest.post(f"/api/v1/jobs/{job_id}/restart", json=body)


def output_rows(platform: RunningPlatform, job_id: str) -> tuple[list[tuple[int, int]], int]:
    """Every kept output row as (subtask_index, counter), and the total the sink received."""
    rows: list[tuple[int, int]] = []
    total = 0
    while True:
        response = platform.rest.get(
            f"/api/v1/jobs/{job_id}/output", params={"limit": 1000, "offset": len(rows)}
        )
        assert response.status_code == 200, response.text
        page = response.json()
        rows += [(r["record"]["subtask_index"], r["record"]["counter"]) for r in page["data"]]
        total = page["total_records"]
        if not page["has_more"]:
            return rows, total


def settled_output(platform: RunningPlatform, job_id: str) -> tuple[list[tuple[int, int]], int]:
    """A finished job's output, once the last telemetry report has arrived (two equal reads)."""
    last: list[tuple[list[tuple[int, int]], int]] = []

    def stable() -> tuple[list[tuple[int, int]], int] | None:
        current = output_rows(platform, job_id)
        same = bool(last) and last[-1] == current
        last.append(current)
        return current if same else None

    return wait_for(stable, timeout_s=15, interval_s=1.5, what=f"output of {job_id} to settle")


def at_least(n: int, listed: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    return listed if len(listed) >= n else None


def file_path(url: str) -> Path:
    parsed = urlparse(url)
    assert parsed.scheme == "file", url
    return Path(parsed.path)


def test_running_job_takes_periodic_checkpoints_with_sizes_and_files(any_platform: RunningPlatform) -> None:
    platform = any_platform
    job_id = start_job(platform, UNBOUNDED_QUERY, parallelism=2, interval_ms=200)
    wait_state(platform, job_id, "Running")
    listed = wait_for(lambda: at_least(3, completed(platform, job_id)), what="3 checkpoints")

    epochs = [c["epoch"] for c in listed]
    assert epochs == sorted(epochs, reverse=True) and len(set(epochs)) == len(epochs)
    newest = listed[0]
    assert newest["id"].startswith("chk_") and newest["job_id"] == job_id
    assert newest["state"] == "completed"
    assert newest["finish_time"] >= newest["start_time"] > 0
    assert newest["size_bytes"] > 0
    assert newest["backend"] == "filesystem"
    expected_dir = (platform.data_dir / "checkpoints").resolve() / job_id / f"epoch_{newest['epoch']}"
    assert file_path(newest["location"]) == expected_dir
    assert newest["operator_states"] and newest["size_bytes"] == sum(
        o["state_size"] for o in newest["operator_states"]
    )

    details = platform.rest.get(f"/api/v1/jobs/{job_id}/checkpoints/{newest['id']}").json()
    assert details["location"] == newest["location"]
    source = next(o for o in details["operator_states"] if o["operator_id"].startswith("source"))
    assert source["operator_name"] == "ImpulseSource"
    assert [s["subtask_index"] for s in source["subtask_states"]] == [0, 1]
    for operator in details["operator_states"]:
        assert operator["state_size"] == sum(s["state_size"] for s in operator["subtask_states"])
        for subtask in operator["subtask_states"]:
            written = expected_dir / operator["operator_id"] / f"{subtask['subtask_index']}.parquet"
            assert written.stat().st_size == subtask["state_size"], written

    page = checkpoints(platform, job_id, limit=1, offset=1)
    assert [c["epoch"] for c in page] == [epochs[1]]
    response = platform.rest.get(f"/api/v1/jobs/{job_id}/checkpoints", params={"limit": 1})
    assert response.json()["has_more"] is True
    stop(platform, job_id, "immediate")


def test_unknown_or_malformed_checkpoints_are_clear_errors(platform: RunningPlatform) -> None:
    job_id = start_job(platform, UNBOUNDED_QUERY, parallelism=1, interval_ms=200)
    other = start_job(platform, UNBOUNDED_QUERY, parallelism=1, interval_ms=200)
    theirs = wait_for(lambda: completed(platform, other), what="a checkpoint of the other job")[0]

    assert platform.rest.get(f"/api/v1/jobs/{job_id}/checkpoints/nope").status_code == 400
    assert platform.rest.get(f"/api/v1/jobs/{job_id}/checkpoints/{theirs['id']}").status_code == 404
    stop(platform, job_id, "immediate")
    stop(platform, other, "immediate")

    response = restart(platform, job_id, checkpoint_id=theirs["id"])
    assert response.status_code == 404 and theirs["id"] in response.json()["message"]
    response = restart(platform, job_id, checkpoint_id="latest")
    assert response.status_code == 400 and "none" in response.json()["message"]


def test_stop_in_checkpoint_mode_takes_a_final_checkpoint(platform: RunningPlatform) -> None:
    # An interval far longer than the test: the only checkpoint is the stop's.
    job_id = start_job(platform, UNBOUNDED_QUERY, parallelism=2, interval_ms=3_600_000)
    wait_state(platform, job_id, "Running")
    wait_for(lambda: job(platform, job_id)["metrics"]["records_out"] > 0, what="output")
    assert completed(platform, job_id) == []

    asked_at = time.time() * 1000
    stop(platform, job_id, "checkpoint")

    [final] = completed(platform, job_id)
    assert final["start_time"] >= asked_at - 1000
    assert final["size_bytes"] > 0


def test_restart_continues_from_the_final_checkpoint_exactly_once(any_platform: RunningPlatform) -> None:
    platform = any_platform
    first = start_job(platform, BOUNDED_QUERY, parallelism=2, interval_ms=300)
    wait_for(lambda: len(completed(platform, first)) >= 2, what="checkpoints of the first run")
    stop(platform, first, "checkpoint")
    final = completed(platform, first)[0]

    response = restart(platform, first)
    assert response.status_code == 200, response.text
    second = response.json()["new_job_id"]
    assert job(platform, second)["run_id"] == job(platform, first)["run_id"] + 1
    wait_state(platform, second, "Finished", timeout_s=60)
    # The restored job's epochs continue after the checkpoint it restored.
    assert all(c["epoch"] > final["epoch"] for c in checkpoints(platform, second))

    first_rows, first_total = settled_output(platform, first)
    second_rows, second_total = settled_output(platform, second)
    assert 0 < first_total < 2 * BOUNDED_ROWS_PER_SUBTASK
    assert first_total + second_total == 2 * BOUNDED_ROWS_PER_SUBTASK
    produced = Counter(first_rows + second_rows)
    expected = {(s, c) for s in range(2) for c in range(BOUNDED_ROWS_PER_SUBTASK)}
    assert set(produced) == expected and set(produced.values()) == {1}


@pytest.mark.parametrize("mode", ["immediate", "force"])
def test_stop_without_a_checkpoint_in_each_mode_says_so_in_the_logs(
    platform: RunningPlatform, mode: str
) -> None:
    job_id = start_job(platform, UNBOUNDED_QUERY, parallelism=2, interval_ms=100)
    wait_for(lambda: completed(platform, job_id), what="a first checkpoint")
    stop(platform, job_id, mode)

    checkpointed = len(completed(platform, job_id))
    logs = platform.rest.get(f"/api/v1/jobs/{job_id}/logs", params={"limit": 1000}).json()["data"]
    messages = [entry["message"] for entry in logs]
    assert f"stop requested (mode {mode}, timeout 20 s)" in messages
    assert "stopped" in messages
    assert platform.rest.post(f"/api/v1/jobs/{job_id}/stop", json={"mode": mode}).status_code == 400
    assert len(completed(platform, job_id)) == checkpointed, "no checkpoint after the stop"


def test_restart_without_state_starts_over(platform: RunningPlatform) -> None:
    first = start_job(platform, BOUNDED_QUERY, parallelism=1, interval_ms=300)
    wait_for(lambda: completed(platform, first), what="a checkpoint")
    stop(platform, first, "checkpoint")

    response = restart(platform, first, checkpoint_id="none")
    assert response.status_code == 200, response.text
    second = response.json()["new_job_id"]
    wait_state(platform, second, "Finished", timeout_s=60)
    rows, total = settled_output(platform, second)
    assert total == BOUNDED_ROWS_PER_SUBTASK
    assert sorted(c for _, c in rows) == list(range(BOUNDED_ROWS_PER_SUBTASK))


def test_restart_from_a_chosen_older_checkpoint(platform: RunningPlatform) -> None:
    first = start_job(platform, BOUNDED_QUERY, parallelism=1, interval_ms=300)
    wait_for(lambda: len(completed(platform, first)) >= 3, what="3 checkpoints")
    stop(platform, first, "checkpoint")
    chosen = completed(platform, first)[-1]  # the oldest one kept

    response = restart(platform, first, checkpoint_id=chosen["id"])
    assert response.status_code == 200, response.text
    second = response.json()["new_job_id"]
    wait_state(platform, second, "Finished", timeout_s=60)
    first_rows, _ = settled_output(platform, first)
    second_rows, second_total = settled_output(platform, second)
    # Everything after the chosen checkpoint is produced again, and nothing before it.
    assert second_total == BOUNDED_ROWS_PER_SUBTASK - min(c for _, c in second_rows)
    assert sorted(c for _, c in second_rows) == list(
        range(min(c for _, c in second_rows), BOUNDED_ROWS_PER_SUBTASK)
    )
    assert set(first_rows) | set(second_rows) == {(0, c) for c in range(BOUNDED_ROWS_PER_SUBTASK)}
    assert min(c for _, c in second_rows) < max(c for _, c in first_rows)


def test_retention_keeps_the_newest_five_completed_checkpoints(platform: RunningPlatform) -> None:
    job_id = start_job(platform, UNBOUNDED_QUERY, parallelism=1, interval_ms=100)
    wait_for(
        lambda: completed(platform, job_id) and completed(platform, job_id)[0]["epoch"] >= 8, what="8 epochs"
    )
    stop(platform, job_id, "immediate")

    kept = completed(platform, job_id)
    assert len(kept) == 5
    newest = kept[0]["epoch"]
    assert [c["epoch"] for c in kept] == list(range(newest, newest - 5, -1))
    job_dir = (platform.data_dir / "checkpoints").resolve() / job_id
    on_disk = {int(p.name.removeprefix("epoch_")) for p in job_dir.glob("epoch_*")}
    assert {c["epoch"] for c in kept} <= on_disk
    assert min(on_disk) >= newest - 5  # older epochs' files are gone (a failed one may linger)


def test_retention_is_set_per_pipeline(platform: RunningPlatform) -> None:
    job_id = start_job(platform, UNBOUNDED_QUERY, parallelism=1, interval_ms=100, checkpoints_retained=2)
    wait_for(
        lambda: completed(platform, job_id) and completed(platform, job_id)[0]["epoch"] >= 5, what="5 epochs"
    )
    stop(platform, job_id, "immediate")

    newest = completed(platform, job_id)[0]["epoch"]
    assert [c["epoch"] for c in completed(platform, job_id)] == [newest, newest - 1]
    pipeline_id = platform.rest.get(f"/api/v1/jobs/{job_id}").json()["pipeline_id"]
    assert platform.rest.get(f"/api/v1/pipelines/{pipeline_id}").json()["checkpoints_retained"] == 2
    refused = platform.rest.post(
        "/api/v1/pipelines", json={"name": "n", "query": UNBOUNDED_QUERY, "checkpoints_retained": 0}
    )
    assert refused.status_code == 400
    assert "checkpoints_retained must be between 1 and 100" in refused.json()["message"]


def test_restart_at_a_higher_parallelism_continues_each_subtask(platform: RunningPlatform) -> None:
    """The impulse source's own rescaling rule (engine): restored subtasks resume at their own
    counters, new ones at the largest restored one."""
    first = start_job(platform, BOUNDED_QUERY, parallelism=2, interval_ms=300)
    wait_for(lambda: len(completed(platform, first)) >= 2, what="checkpoints of the first run")
    stop(platform, first, "checkpoint")

    response = restart(platform, first, parallelism=3)
    assert response.status_code == 200, response.text
    second = response.json()["new_job_id"]
    restarted = wait_state(platform, second, "Finished", timeout_s=60)
    assert restarted["tasks"] == 3

    first_rows, _ = settled_output(platform, first)
    second_rows, _ = settled_output(platform, second)
    produced = Counter(first_rows + second_rows)
    assert set(produced.values()) == {1}, "a row was output twice"
    # Subtasks 0 and 1 go on from their own checkpointed counters to the bound.
    for subtask in (0, 1):
        assert sorted(c for s, c in produced if s == subtask) == list(range(BOUNDED_ROWS_PER_SUBTASK))
    # The new subtask 2 starts at the largest restored counter, so counters keep increasing.
    resumed_at = max(c for _, c in first_rows) + 1
    new_subtask = sorted(c for s, c in second_rows if s == 2)
    assert new_subtask == list(range(resumed_at, BOUNDED_ROWS_PER_SUBTASK))


def test_restart_at_a_lower_parallelism_continues_the_remaining_subtask(platform: RunningPlatform) -> None:
    first = start_job(platform, BOUNDED_QUERY, parallelism=2, interval_ms=300)
    wait_for(lambda: len(completed(platform, first)) >= 2, what="checkpoints of the first run")
    stop(platform, first, "checkpoint")

    response = restart(platform, first, parallelism=1)
    assert response.status_code == 200, response.text
    second = response.json()["new_job_id"]
    assert wait_state(platform, second, "Finished", timeout_s=60)["tasks"] == 1

    first_rows, _ = settled_output(platform, first)
    second_rows, _ = settled_output(platform, second)
    produced = Counter(first_rows + second_rows)
    assert set(produced.values()) == {1}, "a row was output twice"
    # Subtask 0 goes on from its counter; subtask 1 is gone, so its rows end with the first run.
    assert sorted(c for s, c in produced if s == 0) == list(range(BOUNDED_ROWS_PER_SUBTASK))
    assert max(c for s, c in produced if s == 1) < BOUNDED_ROWS_PER_SUBTASK - 1
