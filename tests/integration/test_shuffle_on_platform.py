"""Key-by shuffles through the real platform (`weir up`, 2 worker processes): a GROUP BY over
a bounded nexmark source gives the same result at parallelism 1, 2 and 3 as plain Polars
over the same events; restarts from checkpoints at a higher and then a lower parallelism
(keyed window state split and merged by key ranges) and the recovery from a killed worker
give exactly the result of a run without either.

A job that fits on one worker (parallelism 2: 4 tasks, 4 slots) runs there whole, its
shuffle in-process; one that does not (parallelism 3) is spread over both workers (both
asserted through the workers' free slots), and as every source subtask sends to every
window subtask, its shuffle crosses workers over ShuffleService too.

The window is a processing-time hour: its rows come out when the input ends (summed per key
over windows, in case the run straddles an hour boundary), so the result does not depend on
timing, and the preview keeps every output row."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from services.worker.engine.nexmark.generator import GeneratorConfig, NexmarkGenerator
from tests.conftest import RunningPlatform, start_platform, stop_platform, wait_for
from tests.integration.test_checkpoints import completed, restart, start_job, stop, wait_state
from tests.integration.test_first_pipeline import job
from tests.integration.test_lifecycle_checkpoint_recovery import running_again

KEYS = 7
SLOTS_PER_WORKER = 4  # start_platform's --slots
QUERY = f"""CREATE TABLE nexmark WITH (connector = 'nexmark', event_rate = '{{rate}}', events = '{{events}}');
SELECT bid.auction % {KEYS} AS k, count(*) AS c, sum(bid.price) AS s
FROM nexmark WHERE bid IS NOT NULL
GROUP BY TUMBLE(INTERVAL '1' HOUR), bid.auction % {KEYS}"""

Totals = dict[int, tuple[int, int]]


def expected_totals(events: int) -> Totals:
    """Count and price sum of the bids per key, computed directly over the generated events."""
    frame = pl.DataFrame(NexmarkGenerator(GeneratorConfig()).generate(0, events))
    bids = frame.select(pl.col("bid").struct.field("auction", "price")).drop_nulls("auction")
    grouped = bids.group_by((pl.col("auction") % KEYS).alias("k")).agg(
        pl.len().alias("c"), pl.col("price").sum().alias("s")
    )
    return {row["k"]: (row["c"], row["s"]) for row in grouped.to_dicts()}


def output_records(platform: RunningPlatform, job_id: str) -> tuple[list[dict[str, Any]], int]:
    records: list[dict[str, Any]] = []
    while True:
        response = platform.rest.get(
            f"/api/v1/jobs/{job_id}/output", params={"limit": 1000, "offset": len(records)}
        )
        assert response.status_code == 200, response.text
        page = response.json()
        records += [row["record"] for row in page["data"]]
        if not page["has_more"]:
            return records, page["total_records"]


def settled_records(platform: RunningPlatform, job_id: str) -> list[dict[str, Any]]:
    """A finished job's output once the last telemetry report arrived (two equal reads)."""
    last: list[tuple[list[dict[str, Any]], int]] = []

    def stable() -> tuple[list[dict[str, Any]], int] | None:
        current = output_records(platform, job_id)
        same = bool(last) and last[-1] == current
        last.append(current)
        return current if same else None

    records, total = wait_for(stable, timeout_s=15, interval_s=1.5, what=f"output of {job_id} to settle")
    assert len(records) == total, "the preview sample dropped rows"
    return records


def totals(records: list[dict[str, Any]]) -> Totals:
    summed: Totals = {}
    for record in records:
        count, price = summed.get(record["k"], (0, 0))
        summed[record["k"]] = (count + record["c"], price + record["s"])
    return summed


def wait_placed_on(platform: RunningPlatform, workers_used: int) -> None:
    """The running job's tasks are on exactly `workers_used` workers."""

    def placed() -> bool:
        workers = platform.rest.get("/api/v1/workers").json()["data"]
        busy = [w for w in workers if w["state"] == "Ready" and w["free_slots"] < SLOTS_PER_WORKER]
        return len(busy) == workers_used

    wait_for(placed, timeout_s=30, what=f"the job's tasks on {workers_used} worker(s)")


def all_slots_free(platform: RunningPlatform) -> None:
    def free() -> bool:
        workers = platform.rest.get("/api/v1/workers").json()["data"]
        return all(w["free_slots"] == SLOTS_PER_WORKER for w in workers if w["state"] == "Ready")

    wait_for(free, timeout_s=30, what="every worker's slots free again")


@pytest.mark.parametrize("parallelism", [1, 2, 3])
def test_group_by_gives_the_same_result_at_every_parallelism(
    platform: RunningPlatform, parallelism: int
) -> None:
    """At parallelism 1 the whole query is one chain (the shuffle to a single subtask is
    forward); above, a source chain and a window chain joined by the key-by exchange."""
    events = 60_000
    # Paced to last about two seconds, so that the placement can be seen while it runs.
    job_id = start_job(platform, QUERY.format(rate=30_000, events=events), parallelism, interval_ms=500)
    # 2 * parallelism tasks above 1: on one worker while they fit in its slots.
    wait_placed_on(platform, 1 if 2 * parallelism <= SLOTS_PER_WORKER else 2)
    finished = wait_state(platform, job_id, "Finished", timeout_s=60)
    assert finished["tasks"] == (1 if parallelism == 1 else 2 * parallelism)
    assert totals(settled_records(platform, job_id)) == expected_totals(events)
    all_slots_free(platform)


def test_restarts_at_a_higher_then_a_lower_parallelism_keep_keyed_state(platform: RunningPlatform) -> None:
    """2 -> 3 -> 1: each run stops in `checkpoint` mode with its windows still open, and the
    next restores them split (or merged) by key ranges; together the three runs output
    exactly what one uninterrupted run does."""
    events = 120_000  # 12 s of input: the first two runs stop well before it ends
    query = QUERY.format(rate=10_000, events=events)
    first = start_job(platform, query, parallelism=2, interval_ms=300)
    runs = [first]
    for parallelism in (3, 1):
        current = runs[-1]
        wait_for(lambda j=current: len(completed(platform, j)) >= 2, what=f"checkpoints of {current}")
        assert job(platform, current)["state"] == "Running", "the source ended before the stop"
        stop(platform, current, "checkpoint")
        response = restart(platform, current, parallelism=parallelism)
        assert response.status_code == 200, response.text
        runs.append(response.json()["new_job_id"])
    assert wait_state(platform, runs[-1], "Finished", timeout_s=60)["tasks"] == 1
    records = [record for run in runs for record in settled_records(platform, run)]
    assert totals(records) == expected_totals(events)


@pytest.fixture
def own_platform(tmp_path: Path) -> Any:
    """A platform of this test's own (it kills a worker)."""
    running = start_platform(tmp_path / "data", workers=2)
    try:
        yield running
    finally:
        stop_platform(running)


def test_a_killed_worker_recovers_the_shuffle_from_its_last_checkpoint(own_platform: RunningPlatform) -> None:
    """The surviving tasks fail at once on their channels to the dead worker; the job is
    rescheduled on the workers that answer, outputs every key exactly once, and the dead
    run's exchanges hold no slot afterwards."""
    platform = own_platform
    events = 60_000
    # Parallelism 3: 6 tasks, more than one worker's slots, so the job spans both workers.
    job_id = start_job(platform, QUERY.format(rate=10_000, events=events), parallelism=3, interval_ms=300)
    wait_for(lambda: len(completed(platform, job_id)) >= 2, what="checkpoints before the kill")
    assert job(platform, job_id)["state"] == "Running", "the source ended before the kill"
    wait_placed_on(platform, 2)
    victim = platform.rest.get("/api/v1/workers").json()["data"][0]
    os.kill(victim["pid"], signal.SIGKILL)
    wait_for(lambda: job(platform, job_id)["state"] != "Running", what="the loss noticed")
    running_again(platform, job_id)
    wait_state(platform, job_id, "Finished", timeout_s=60)
    assert totals(settled_records(platform, job_id)) == expected_totals(events)
    all_slots_free(platform)
    # The workers' own slots are free too: a job needing every slot of the two live workers
    # (the survivor and the one `weir up` started instead of the dead) starts and runs; a
    # slot still held by a task of the dead run would refuse it. The dead worker, still
    # listed until its heartbeats are overdue, does not answer and gets none of its tasks.
    full = start_job(platform, QUERY.format(rate=0, events=events), SLOTS_PER_WORKER, interval_ms=500)
    assert wait_state(platform, full, "Finished", timeout_s=60)["tasks"] == 2 * SLOTS_PER_WORKER
    assert totals(settled_records(platform, full)) == expected_totals(events)
