"""Job logs and errors through a real `weir up`: the controller's lifecycle entries and the
workers' entries come back from `GET /jobs/{id}/logs`, a bad input record from `/errors` with
its text, and all of it is still served after the metrics service is killed with SIGKILL and
started again (they live in the store, not in the metrics service's memory)."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunningPlatform, start_platform, stop_platform, wait_for
from tests.integration.test_checkpoints import completed, start_job, stop, wait_state
from tests.integration.test_lifecycle_checkpoint_recovery import child_pid

IMPULSE = """CREATE TABLE impulse WITH (connector = 'impulse', event_rate = '50');
SELECT counter, subtask_index FROM impulse"""
BAD_RECORD = '{"id": 2, "name": "broken'


@pytest.fixture(scope="module")
def allowed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("allowed").resolve()
    (directory / "input.json").write_text(
        f'{{"id": 1, "name": "a"}}\n{BAD_RECORD}\n{{"id": 3, "name": "c"}}\n'
    )
    return directory


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory, allowed: Path) -> Iterator[RunningPlatform]:
    """A platform of its own (this module kills its metrics service)."""
    running = start_platform(
        tmp_path_factory.mktemp("weir") / "data", workers=2, extra=["--allow-path", str(allowed)]
    )
    try:
        yield running
    finally:
        stop_platform(running)


def logs(platform: RunningPlatform, job_id: str, **params: Any) -> list[dict[str, Any]]:
    response = platform.rest.get(f"/api/v1/jobs/{job_id}/logs", params={"limit": 1000, **params})
    assert response.status_code == 200, response.text
    return response.json()["data"]


def errors(platform: RunningPlatform, job_id: str) -> list[dict[str, Any]]:
    response = platform.rest.get(f"/api/v1/jobs/{job_id}/errors", params={"limit": 1000})
    assert response.status_code == 200, response.text
    return response.json()["data"]


def controller_messages(entries: list[dict[str, Any]]) -> list[str]:
    """The controller's entries (no operator), oldest first."""
    return [e["message"] for e in reversed(entries) if not e.get("operator_id")]


def test_lifecycle_and_worker_logs_and_errors_survive_a_metrics_kill(
    platform: RunningPlatform, allowed: Path
) -> None:
    job_id = start_job(platform, IMPULSE, parallelism=2, interval_ms=300)
    wait_state(platform, job_id, "Running")
    wait_for(lambda: completed(platform, job_id), timeout_s=30, what="a completed checkpoint")
    stop(platform, job_id, "checkpoint")

    def lifecycle_logged() -> list[dict[str, Any]] | None:
        entries = logs(platform, job_id)
        return entries if controller_messages(entries)[-1:] == ["stopped"] else None

    entries = wait_for(lifecycle_logged, timeout_s=30, what="the stop in the job's log")
    messages = controller_messages(entries)
    assert messages[0] == "scheduling"
    assert messages[1].startswith("scheduled 2 tasks on ")
    assert messages[2] == "running"
    assert any(m.startswith("checkpoint 1 completed in ") and m.endswith(" bytes)") for m in messages)
    assert "stop requested (mode checkpoint, timeout 20 s)" in messages
    scheduled = next(e for e in entries if e["message"].startswith("scheduled "))
    assert sum(len(w["tasks"]) for w in scheduled["details"]["workers"].values()) == 2
    checkpoint = next(e for e in entries if e["message"].startswith("checkpoint 1 completed"))
    assert checkpoint["level"] == "info" and checkpoint["details"]["epoch"] == 1
    # Newest first, as the spec lists them.
    assert [e["timestamp"] for e in entries] == sorted((e["timestamp"] for e in entries), reverse=True)

    def worker_entries() -> list[dict[str, Any]] | None:
        found = [e for e in logs(platform, job_id) if e.get("operator_id")]
        # Both subtasks' entries (proto3 JSON leaves out a task_index of 0).
        return found if {e.get("task_index", 0) for e in found} == {0, 1} else None

    wait_for(worker_entries, timeout_s=30, what="both subtasks' log entries")
    assert all(e.get("task_index", 0) == 1 for e in logs(platform, job_id, task_index=1))
    assert [e["message"] for e in logs(platform, job_id, level="warn")] == []

    bad_job = start_job(
        platform,
        "CREATE TABLE users (id BIGINT NOT NULL, name TEXT) WITH (connector = 'single_file', "
        f"path = '{allowed / 'input.json'}', format = 'json', type = 'source');\nSELECT id, name FROM users",
        parallelism=1,
        interval_ms=3_600_000,
    )
    wait_state(platform, bad_job, "Finished", timeout_s=60)
    reported = wait_for(lambda: errors(platform, bad_job), timeout_s=30, what="the bad record's error")
    [error] = reported
    assert (error["level"], error["record"]) == ("error", BAD_RECORD)
    assert error["message"].startswith("bad record in ")

    def bad_job_finished_logged() -> list[dict[str, Any]] | None:
        found = logs(platform, bad_job)
        return found if controller_messages(found)[-1:] == ["finished"] else None

    wait_for(bad_job_finished_logged, timeout_s=30, what="the bounded job's log")

    before = {job_id: logs(platform, job_id), bad_job: logs(platform, bad_job)}
    victim = child_pid(platform, "metrics")
    os.kill(victim, signal.SIGKILL)
    wait_for(lambda: child_pid(platform, "metrics") != victim, timeout_s=30, what="a new metrics service")

    def served_again() -> list[dict[str, Any]] | None:
        response = platform.rest.get(f"/api/v1/jobs/{job_id}/logs", params={"limit": 1000})
        return response.json()["data"] if response.status_code == 200 else None

    # Every entry served before is served again, unchanged (late worker entries may be added).
    after = {e["id"]: e for e in wait_for(served_again, timeout_s=30, what="logs served after the kill")}
    assert [after.get(e["id"]) for e in before[job_id]] == before[job_id]
    after = {e["id"]: e for e in logs(platform, bad_job)}
    assert [after.get(e["id"]) for e in before[bad_job]] == before[bad_job]
    assert errors(platform, bad_job) == reported
