"""Benchmark: how long a job is down after a `kill -9`, with a real `weir up` (2 workers).

Two measurements, each over 10 trials (issue 4):

- worker recovery: `kill -9` of a worker running one of a job's tasks -> the job Running again.
  Every trial runs a new job (parallelism 2), because recovery backs off longer with each
  restart of the same job, and stops it afterwards.
- controller restart: `kill -9` of the controller while 3 jobs run -> all 3 reconciled: each
  Running, with a completed checkpoint that started after the kill (checkpoints every
  200 ms), which only a controller that runs the job again can take. Seeing a job leave
  Running and come back is no proof here: the gateway may reconnect to the new controller
  only after the job has been through Recovering already. Every trial runs on a new
  platform, so that one restart's leftovers (a stalled job, slots still held) cannot skew
  the next.

Worker recovery is read the way a user sees it, through the REST API (GET /api/v1/jobs/{id}),
polled every 20 ms: the job counts as Running again once it has been seen in another state
since the kill and then Running. After it the bench waits (untimed) for the job to complete
a new checkpoint, so that it really runs. A trial in which a job fails counts as failed; one
in which it comes back Running but completes no checkpoint within 30 s keeps its time and is
reported as stalled. Prints the median and the max of each measurement.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.conftest import RunningPlatform, fresh_postgres_database, start_platform, stop_platform

TRIALS = 10
CONTROLLER_JOBS = 3
POLL_S = 0.02
RECOVERY_TIMEOUT_S = 120.0
SETTLE_TIMEOUT_S = 30.0
# Short, so that the first checkpoint after a controller restart comes soon after the job
# runs again: it is what shows the new controller reconciled the job (bias: up to this).
CONTROLLER_CHECKPOINT_INTERVAL_MS = 200
# An unbounded source, slow enough to leave the machine to the platform's own work.
QUERY = """CREATE TABLE impulse WITH (connector = 'impulse', event_rate = '20');
SELECT counter, subtask_index FROM impulse"""


class JobFailed(Exception):
    """A job under measurement failed: the trial counts as a failed recovery."""


class JobsStalled(Exception):
    """Jobs came back Running but completed no checkpoint since: they are replaced."""

    def __init__(self, job_ids: list[str]) -> None:
        super().__init__(
            f"jobs {job_ids} were Running again but completed no checkpoint within {SETTLE_TIMEOUT_S:.0f} s"
        )
        self.job_ids = job_ids


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Poll `condition` (REST errors count as not yet: the controller may be down)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if condition():
                return
        except (httpx.HTTPError, KeyError):
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(POLL_S)


def job_state(platform: RunningPlatform, job_id: str) -> str:
    response = platform.rest.get(f"/api/v1/jobs/{job_id}")
    response.raise_for_status()
    state: str = response.json()["state"]
    if state == "Failed":
        raise JobFailed(f"job {job_id} failed: {response.json()['failure_message']}")
    return state


def start_job(platform: RunningPlatform, name: str, checkpoint_interval_ms: int = 1000) -> str:
    response = platform.rest.post(
        "/api/v1/pipelines",
        json={
            "name": name,
            "query": QUERY,
            "parallelism": 2,
            "checkpoint_interval_ms": checkpoint_interval_ms,
        },
    )
    response.raise_for_status()
    pipeline_id = response.json()["id"]
    job_id: str = platform.rest.get(f"/api/v1/pipelines/{pipeline_id}/jobs").json()["data"][0]["id"]
    wait_until(lambda: job_state(platform, job_id) == "Running", 60, f"job {job_id} to run")
    return job_id


def stop_job(platform: RunningPlatform, job_id: str) -> None:
    platform.rest.post(f"/api/v1/jobs/{job_id}/stop", json={"mode": "immediate"}).raise_for_status()
    wait_until(lambda: job_state(platform, job_id) == "Stopped", 60, f"job {job_id} to stop")


def workers(platform: RunningPlatform) -> list[dict[str, object]]:
    data: list[dict[str, object]] = platform.rest.get("/api/v1/workers").json()["data"]
    return data


def all_workers_ready(platform: RunningPlatform) -> bool:
    return len([w for w in workers(platform) if w["state"] == "Ready"]) >= 2


def busy_worker_pid(platform: RunningPlatform) -> int | None:
    """The pid of a worker running some task (the only job running is the trial's)."""
    for worker in workers(platform):
        if worker["state"] == "Ready" and int(str(worker["free_slots"])) < int(str(worker["slots"])):
            return int(str(worker["pid"]))
    return None


def seconds_until_running_again(platform: RunningPlatform, job_ids: list[str], killed_at: float) -> float:
    """From `killed_at` until every job has left Running and come back to it."""
    left_running: set[str] = set()

    def all_running_again() -> bool:
        for job_id in job_ids:
            state = job_state(platform, job_id)
            if state != "Running":
                left_running.add(job_id)
            elif job_id not in left_running:
                return False
        return left_running == set(job_ids)

    wait_until(all_running_again, RECOVERY_TIMEOUT_S, f"jobs {job_ids} Running again")
    return time.monotonic() - killed_at


def newest_checkpoint_epoch(platform: RunningPlatform, job_id: str) -> int:
    response = platform.rest.get(f"/api/v1/jobs/{job_id}/checkpoints", params={"completed": True, "limit": 1})
    response.raise_for_status()
    listed = response.json()["data"]
    return int(listed[0]["epoch"]) if listed else 0


def settled(platform: RunningPlatform, job_ids: list[str], epochs_before: dict[str, int]) -> None:
    """Untimed: wait until each job completes a checkpoint after its recovery, so that the next
    trial starts from jobs that really run again, not ones still restoring."""
    try:
        wait_until(
            lambda: all(newest_checkpoint_epoch(platform, j) > epochs_before[j] for j in job_ids),
            SETTLE_TIMEOUT_S,
            "",
        )
    except SystemExit:
        stuck = [j for j in job_ids if newest_checkpoint_epoch(platform, j) <= epochs_before[j]]
        raise JobsStalled(stuck) from None


def controller_pid(platform: RunningPlatform) -> int | None:
    for pid in platform.child_pids():
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except FileNotFoundError:
            continue  # exited since listed
        if b"controller" in argv:
            return pid
    return None


class Trials:
    """The times of the trials that recovered, and why the others did not."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.failures: list[str] = []
        # Trials whose jobs came back Running (their time counts) but then did not checkpoint.
        self.stalls: list[str] = []

    def summary(self) -> str:
        if not self.times:
            return f"no trial recovered ({len(self.failures)} failed)"
        text = (
            f"median {statistics.median(self.times):.2f} s, max {max(self.times):.2f} s "
            f"over {len(self.times)} trials"
        )
        if self.stalls:
            text += f"; in {len(self.stalls)} of them a job then completed no checkpoint"
        return text + (f"; {len(self.failures)} more failed" if self.failures else "")


def stop_unless_failed(platform: RunningPlatform, job_ids: list[str]) -> None:
    for job_id in job_ids:
        try:
            stop_job(platform, job_id)
        except JobFailed:
            pass  # already over, and already reported
        except httpx.HTTPStatusError as refused:
            # A stalled job may be one no controller supervises any more: say so, go on.
            print(f"  could not stop {job_id}: {refused.response.text}", flush=True)


def worker_recovery(platform: RunningPlatform, trials: int) -> Trials:
    result = Trials()
    for trial in range(trials):
        wait_until(lambda: all_workers_ready(platform), 60, "both workers Ready")
        job_id = start_job(platform, f"worker-kill-{trial}")
        wait_until(lambda: busy_worker_pid(platform) is not None, 30, "a worker to run the job's tasks")
        victim = busy_worker_pid(platform)
        assert victim is not None
        epochs_before = {job_id: newest_checkpoint_epoch(platform, job_id)}
        killed_at = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        try:
            result.times.append(seconds_until_running_again(platform, [job_id], killed_at))
            print(f"  worker kill {trial + 1}: job Running again after {result.times[-1]:.2f} s", flush=True)
            settled(platform, [job_id], epochs_before)
        except JobFailed as failure:
            result.failures.append(str(failure))
            print(f"  worker kill {trial + 1}: {failure}", flush=True)
        except JobsStalled as stall:
            result.stalls.append(str(stall))
            print(f"  worker kill {trial + 1}: {stall}", flush=True)
        stop_unless_failed(platform, [job_id])
    return result


def newest_checkpoint_start_ms(platform: RunningPlatform, job_id: str) -> float:
    response = platform.rest.get(f"/api/v1/jobs/{job_id}/checkpoints", params={"completed": True, "limit": 1})
    response.raise_for_status()
    listed = response.json()["data"]
    return float(listed[0]["start_time"]) if listed else 0.0


def seconds_until_reconciled(platform: RunningPlatform, job_ids: list[str], killed_at: float) -> float:
    """From `killed_at` until every job is Running with a checkpoint completed that started
    after the kill: proof that the new controller runs it. (Seeing the job leave Running is
    no proof here: the gateway may reconnect to the new controller only after the job has
    been through Recovering and back.)"""
    killed_at_ms = (time.time() - (time.monotonic() - killed_at)) * 1000

    def reconciled() -> bool:
        return all(
            job_state(platform, job_id) == "Running"
            and newest_checkpoint_start_ms(platform, job_id) > killed_at_ms
            for job_id in job_ids
        )

    try:
        wait_until(reconciled, RECOVERY_TIMEOUT_S, "")
    except SystemExit:
        raise JobsStalled(job_ids) from None
    return time.monotonic() - killed_at


def print_job_lines(platform: RunningPlatform, job_ids: list[str], last: int = 80) -> None:
    """To stderr: the platform's log lines about `job_ids`, and its own log's end."""
    # Each job's routine (its checkpoints, polls of it) would drown the rest.
    routine = ("aiohttp.access", ") completed, ", "retention deleted")
    for path in sorted((platform.data_dir / "logs").glob("*.log")):
        lines = [
            line
            for line in path.read_text(errors="replace").splitlines()
            if any(job_id in line for job_id in job_ids) and not any(r in line for r in routine)
        ]
        print(f"== {path.name}", *lines[-last:], sep="\n", file=sys.stderr)
    print(platform.logs(tail_chars=2000).rsplit("== ", 1)[-1], file=sys.stderr, flush=True)


def controller_restart(new_platform: Callable[[], RunningPlatform], trials: int) -> Trials:
    """Each trial on a platform of its own, so that what one controller restart leaves behind
    (a stalled job, slots still held) cannot change the next trial."""
    result = Trials()
    for trial in range(trials):
        platform = new_platform()
        job_ids: list[str] = []
        try:
            job_ids = [
                start_job(platform, f"controller-kill-{i}", CONTROLLER_CHECKPOINT_INTERVAL_MS)
                for i in range(CONTROLLER_JOBS)
            ]
            for job_id in job_ids:
                wait_until(
                    lambda job_id=job_id, platform=platform: newest_checkpoint_start_ms(platform, job_id) > 0,
                    30,
                    f"a first checkpoint of {job_id}",
                )
            victim = controller_pid(platform)
            if victim is None:
                raise SystemExit("no controller process under weir up")
            killed_at = time.monotonic()
            os.kill(victim, signal.SIGKILL)
            result.times.append(seconds_until_reconciled(platform, job_ids, killed_at))
            print(
                f"  controller kill {trial + 1}: {len(job_ids)} jobs reconciled "
                f"after {result.times[-1]:.2f} s",
                flush=True,
            )
        except (JobFailed, JobsStalled) as failure:
            result.failures.append(str(failure))
            print(f"  controller kill {trial + 1}: {failure}", flush=True)
            print_job_lines(platform, job_ids)
        finally:
            stop_platform(platform)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trials", type=int, default=TRIALS)
    parser.add_argument("--measure", choices=("both", "worker", "controller"), default="both")
    parser.add_argument(
        "--postgres", action="store_true", help="a fresh PostgreSQL database per platform (default: SQLite)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as databases:

        def new_platform() -> RunningPlatform:
            url = databases.enter_context(fresh_postgres_database()) if args.postgres else None
            return start_platform(Path(tempfile.mkdtemp(dir=tmp)) / "data", workers=2, database_url=url)

        print("== recovery (weir up, 2 workers, kill -9)", flush=True)
        worker = controller = None
        if args.measure in ("both", "worker"):
            platform = new_platform()
            try:
                worker = worker_recovery(platform, args.trials)
            except SystemExit:
                print(platform.logs(tail_chars=3000), file=sys.stderr)
                raise
            finally:
                stop_platform(platform)
        if args.measure in ("both", "controller"):
            controller = controller_restart(new_platform, args.trials)
    if worker is not None:
        print(f"worker kill -> job Running again: {worker.summary()}")
    if controller is not None:
        print(f"controller kill -> all {CONTROLLER_JOBS} jobs reconciled: {controller.summary()}")
    for trials in (worker, controller):
        for failure in trials.failures if trials else []:
            print(f"  failed: {failure}")
        for stall in trials.stalls if trials else []:
            print(f"  stalled: {stall}")


if __name__ == "__main__":
    main()
