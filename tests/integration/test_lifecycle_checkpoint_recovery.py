"""Recovery restores the last completed checkpoint, through real processes and real `kill -9`,
on SQLite and PostgreSQL. The preview sink commits on checkpoints, so its output never holds
a row twice. After a controller kill the workers live on and every row is there exactly
once. After a worker kill, rows the dead worker had committed but not yet reported to the
metrics service (telemetry leaves every second) are lost with it — the preview is a
sample, not a durable sink — so there each subtask may show one gap, never a repeat."""

from __future__ import annotations

import itertools
import os
import signal
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import RunningPlatform, fresh_postgres_database, start_platform, stop_platform, wait_for
from tests.integration.test_checkpoints import (
    completed,
    output_rows,
    settled_output,
    start_job,
    stop,
    wait_state,
)
from tests.integration.test_first_pipeline import job

# 20 rows/s per subtask: slow enough that the preview keeps every row of the whole test.
QUERY = """CREATE TABLE impulse WITH (connector = 'impulse', event_rate = '40');
SELECT counter, subtask_index FROM impulse"""
PARALLELISM = 2


@pytest.fixture(params=["sqlite", "postgresql"])
def platform(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RunningPlatform]:
    """A platform of its own per test (these tests kill its processes)."""
    if request.param == "sqlite":
        running = start_platform(tmp_path / "data", workers=2)
        try:
            yield running
        finally:
            stop_platform(running)
        return
    with fresh_postgres_database() as database_url:
        running = start_platform(tmp_path / "data", workers=2, database_url=database_url)
        try:
            yield running
        finally:
            stop_platform(running)


def child_pid(platform: RunningPlatform, service: str) -> int:
    for pid in platform.child_pids():
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except FileNotFoundError:
            continue  # exited since listed
        if service.encode() in argv:
            return pid
    raise AssertionError(f"no {service} process under weir up")


def running_again(platform: RunningPlatform, job_id: str) -> None:
    def running() -> bool:
        state = job(platform, job_id)["state"]
        assert state != "Failed"
        return state == "Running"

    wait_for(running, timeout_s=60, what="the job Running again")


def rows_by_subtask(platform: RunningPlatform, job_id: str) -> dict[int, list[int]]:
    """The job's output counters per subtask, sorted; fails on any row output twice."""
    rows, total = settled_output(platform, job_id)
    assert len(rows) == total, "the preview sample dropped rows; slow the source down"
    duplicated = sorted(row for row, n in Counter(rows).items() if n > 1)
    assert not duplicated, f"rows output more than once: {duplicated[:10]}"
    return {s: sorted(c for t, c in rows if t == s) for s in range(PARALLELISM)}


def gaps(counters: list[int]) -> int:
    return sum(1 for a, b in itertools.pairwise([-1, *counters]) if b != a + 1)


def newest_counters(platform: RunningPlatform, job_id: str) -> dict[int, int]:
    """The highest counter each subtask has output so far (-1 for none)."""
    rows, _ = output_rows(platform, job_id)
    return {s: max((c for t, c in rows if t == s), default=-1) for s in range(PARALLELISM)}


def newest_epoch(platform: RunningPlatform, job_id: str) -> int:
    listed = completed(platform, job_id)
    return listed[0]["epoch"] if listed else 0


def run_until_checkpoints_advance(platform: RunningPlatform, job_id: str, epochs: int) -> None:
    before = newest_epoch(platform, job_id)
    wait_for(
        lambda: newest_epoch(platform, job_id) >= before + epochs,
        timeout_s=30,
        what=f"{epochs} more checkpoints",
    )


# weir up restarts the worker on its old port, and its registration there tells the controller
# that the old one is gone (without it, the missed heartbeats would, after 10 s).
def test_a_killed_worker_recovers_the_job_from_its_last_checkpoint(platform: RunningPlatform) -> None:
    job_id = start_job(platform, QUERY, parallelism=PARALLELISM, interval_ms=300)
    wait_state(platform, job_id, "Running")
    run_until_checkpoints_advance(platform, job_id, 4)
    busy = [w for w in platform.rest.get("/api/v1/workers").json()["data"] if w["free_slots"] < w["slots"]]
    os.kill(busy[0]["pid"], signal.SIGKILL)
    before_kill = newest_counters(platform, job_id)

    wait_for(lambda: job(platform, job_id)["state"] != "Running", timeout_s=30, what="the loss noticed")
    running_again(platform, job_id)
    wait_for(
        lambda: all(newest_counters(platform, job_id)[s] >= before_kill[s] + 20 for s in range(PARALLELISM)),
        timeout_s=30,
        what="every subtask's output to go on",
    )
    stop(platform, job_id, "checkpoint")

    counters = rows_by_subtask(platform, job_id)
    # A subtask that ran on the killed worker may show a gap; none may repeat a row.
    assert all(gaps(c) <= 1 and c == sorted(set(c)) for c in counters.values()), counters


def test_a_killed_controller_resumes_the_job_from_its_last_checkpoint(platform: RunningPlatform) -> None:
    job_id = start_job(platform, QUERY, parallelism=PARALLELISM, interval_ms=300)
    wait_state(platform, job_id, "Running")
    run_until_checkpoints_advance(platform, job_id, 4)
    victim = child_pid(platform, "controller")
    os.kill(victim, signal.SIGKILL)

    wait_for(lambda: child_pid(platform, "controller") != victim, timeout_s=30, what="a new controller")
    running_again(platform, job_id)
    listed = platform.rest.get(f"/api/v1/jobs/{job_id}/checkpoints").json()["data"]
    # What the killed controller left in progress was failed on its successor's start.
    assert "in_progress" not in [c["state"] for c in listed[1:]]
    run_until_checkpoints_advance(platform, job_id, 6)
    stop(platform, job_id, "checkpoint")

    counters = rows_by_subtask(platform, job_id)
    for subtask, seen in counters.items():
        assert seen == list(range(len(seen))) and len(seen) > 40, f"subtask {subtask}: {seen}"
