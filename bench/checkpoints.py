"""Benchmark: checkpoints through the embedded platform (real processes, SQLite store).

For an impulse source running as fast as it can into a blackhole sink, at parallelism 1 and 4,
with a checkpoint every 200 ms, prints: the median and max duration of a checkpoint (trigger
to completed, from the checkpoint API), the mean state size, how long a stop in `checkpoint`
mode takes (request to Stopped) and how long a restart from that final checkpoint takes to
reach Running. Figures only; nothing is asserted.

Run: .venv/bin/python bench/checkpoints.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.conftest import RunningPlatform, start_platform, stop_platform, wait_for

QUERY = """CREATE TABLE impulse WITH (connector = 'impulse', event_rate = '0');
CREATE TABLE sink WITH (connector = 'blackhole');
INSERT INTO sink SELECT counter, subtask_index FROM impulse"""
CHECKPOINTS = 20
INTERVAL_MS = 200


def state(platform: RunningPlatform, job_id: str) -> str:
    return platform.rest.get(f"/api/v1/jobs/{job_id}").json()["state"]


def completed(platform: RunningPlatform, job_id: str) -> list[dict[str, Any]]:
    response = platform.rest.get(
        f"/api/v1/jobs/{job_id}/checkpoints", params={"completed": "true", "limit": 100}
    )
    return response.json()["data"]


def measure(platform: RunningPlatform, parallelism: int) -> None:
    response = platform.rest.post(
        "/api/v1/pipelines",
        json={
            "name": f"bench-p{parallelism}",
            "query": QUERY,
            "parallelism": parallelism,
            "checkpoint_interval_ms": INTERVAL_MS,
        },
    )
    response.raise_for_status()
    pipeline_id = response.json()["id"]
    job_id = platform.rest.get("/api/v1/jobs", params={"pipeline_id": pipeline_id}).json()["data"][0]["id"]
    # Retention keeps 5 completed checkpoints: sample the newest ones as they come.
    seen: dict[str, dict[str, Any]] = {}

    def enough() -> bool:
        for checkpoint in completed(platform, job_id):
            seen[checkpoint["id"]] = checkpoint
        return len(seen) >= CHECKPOINTS

    wait_for(enough, timeout_s=120, interval_s=0.2, what=f"{CHECKPOINTS} checkpoints")
    durations = [c["finish_time"] - c["start_time"] for c in seen.values()]
    sizes = [c["size_bytes"] for c in seen.values()]

    asked = time.monotonic()
    platform.rest.post(f"/api/v1/jobs/{job_id}/stop", json={"mode": "checkpoint"}).raise_for_status()
    wait_for(lambda: state(platform, job_id) == "Stopped", timeout_s=60, interval_s=0.02, what="Stopped")
    stop_s = time.monotonic() - asked

    asked = time.monotonic()
    new_job = platform.rest.post(f"/api/v1/jobs/{job_id}/restart", json={}).json()["new_job_id"]
    wait_for(lambda: state(platform, new_job) == "Running", timeout_s=60, interval_s=0.02, what="Running")
    restart_s = time.monotonic() - asked
    platform.rest.post(f"/api/v1/jobs/{new_job}/stop", json={"mode": "immediate"})

    print(
        f"{parallelism:>11}  {statistics.median(durations):>12.0f}  {max(durations):>9.0f}  "
        f"{statistics.mean(sizes):>11.0f}  {stop_s * 1000:>15.0f}  {restart_s * 1000:>14.0f}"
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        platform = start_platform(Path(scratch) / "data", workers=2)
        try:
            print(f"checkpoints: impulse (as fast as possible) -> blackhole, every {INTERVAL_MS} ms")
            print("parallelism  median_ms  max_ms  mean_bytes  stop_ckpt_ms  restart_ms")
            for parallelism in (1, 4):
                measure(platform, parallelism)
        finally:
            stop_platform(platform)


if __name__ == "__main__":
    main()
