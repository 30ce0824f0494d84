"""Checkpoints with real tasks: snapshot files and sizes, barrier alignment through
shuffles, and restores that continue exactly (two-phase-commit sinks, keyed window state
split by key-hash ranges across parallelism changes)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from services.worker.engine import TelemetryBuffer
from services.worker.engine.checkpointing import CommitLog, EpochDirectory, epoch_location, split_location
from tests.engine.harness import RunningJob, start_job, wait_until

PACED = "CREATE TABLE impulse WITH (connector = 'impulse', event_rate = '{rate}', message_count = '{n}');\n"
ROWS = "SELECT counter, subtask_index FROM impulse"
KEYED_COUNT = (
    "SELECT counter % 13 AS k, count(*) AS c, sum(counter) AS s FROM impulse\n"
    "GROUP BY tumble(interval '1' hour), counter % 13"
)


def checkpoint(job: RunningJob, epoch: int) -> None:
    """Trigger `epoch` on every task and wait until every task has reported it."""
    for task in job.tasks:
        task.trigger_checkpoint(epoch)
    wait_until(
        lambda: all(epoch in listener.checkpoints for listener in job.listeners), f"checkpoint {epoch}"
    )


def commit(job: RunningJob, epoch: int) -> None:
    for task in job.tasks:
        task.commit_checkpoint(epoch)


def crash(job: RunningJob) -> None:
    job.stop(graceful=False)
    job.wait_ended()


def wait_for_source_records(job: RunningJob, records: int) -> None:
    source = job.dataflow.operators[0].id
    wait_until(lambda: job.telemetry.drain().sum(source, "records_out") >= records, f"{records} records")


def test_a_checkpoint_writes_each_stateful_operator_subtask_and_reports_sizes(tmp_path: Path) -> None:
    url = tmp_path.as_uri()
    query = PACED.format(rate=20_000, n=1_000_000) + KEYED_COUNT
    job = start_job(query, 2, job_id="job_a", checkpoint_url=url)
    wait_for_source_records(job, 2000)
    checkpoint(job, 1)
    crash(job)
    location = Path(epoch_location(str(tmp_path), "job_a", 1))
    source, window = job.dataflow.operators[0].id, job.dataflow.operators[2].id
    assert job.dataflow.operators[2].WhichOneof("spec") == "window_aggregate"
    reported = {
        (s.operator_id, s.subtask_index): s.size_bytes for lst in job.listeners for s in lst.checkpoints[1]
    }
    # Impulse offsets for both source subtasks; window partials for both window subtasks.
    assert {key for key in reported} == {(source, 0), (source, 1), (window, 0), (window, 1)}
    for (operator_id, index), size in reported.items():
        path = location / operator_id / f"{index}.parquet"
        assert path.stat().st_size == size > 0
    offsets = pq.read_table(location / source / "1.parquet").to_pylist()
    assert offsets[0]["subtask_index"] == 1 and offsets[0]["next_counter"] > 0
    # Every window subtask holds only keys in its own key-hash range, and all 13 keys are held.
    keys = [pq.read_table(location / window / f"{i}.parquet").column("_key_0").to_pylist() for i in range(2)]
    assert not set(keys[0]) & set(keys[1]) and set(keys[0]) | set(keys[1]) == set(range(13))


@pytest.mark.parametrize("committed", [(), (1,), (1, 2)], ids=["none", "first", "both"])
def test_a_sink_restored_from_a_checkpoint_outputs_every_row_exactly_once(
    tmp_path: Path, committed: tuple[int, ...]
) -> None:
    """Crash after checkpoint 2 completed, with the commits in `committed` delivered before
    the crash; restore from epoch 2: committed output before plus output after the restore
    is every row once."""
    n, url = 3000, tmp_path.as_uri()
    query = PACED.format(rate=8000, n=n) + ROWS
    buffer = TelemetryBuffer(max_preview_rows=100_000)
    first = start_job(query, 2, buffer=buffer, job_id="job_1", checkpoint_url=url)
    sink = first.dataflow.operators[-1].id
    wait_for_source_records(first, 500)
    checkpoint(first, 1)
    wait_for_source_records(first, 1000)
    checkpoint(first, 2)
    for epoch in committed:
        commit(first, epoch)
    if committed:
        log = CommitLog(f"{url}/job_1")
        wait_until(
            lambda: all(log.committed_epoch(sink, i) == committed[-1] for i in range(2)),
            "the commit to be recorded",
        )
    crash(first)
    before = first.telemetry.drain().preview_rows[sink]
    assert len(before) < 2 * n

    second = start_job(
        query, 2, buffer=buffer, job_id="job_2", checkpoint_url=url,
        restore_location=epoch_location(url, "job_1", 2),
    )  # fmt: skip
    second.wait_ended()
    assert all(listener.kinds() == ["running", "finished"] for listener in second.listeners)
    after = second.telemetry.drain().preview_rows[sink]
    rows = sorted((r["subtask_index"], r["counter"]) for r in map(json.loads, before + after))
    assert rows == [(s, c) for s in range(2) for c in range(n)]


def _next_counters(location: Path, source: str) -> dict[int, int]:
    return {
        row["subtask_index"]: row["next_counter"]
        for file in sorted((location / source).glob("*.parquet"))
        for row in pq.read_table(file).to_pylist()
    }


def test_keyed_windows_continue_exactly_across_restores_at_parallelism_1_3_2(tmp_path: Path) -> None:
    n, url = 4000, tmp_path.as_uri()
    query = PACED.format(rate=12_000, n=n) + KEYED_COUNT
    buffer = TelemetryBuffer(max_preview_rows=10_000)
    locations, output = [], []
    restore = ""
    for run, parallelism in enumerate((1, 3), start=1):
        job = start_job(
            query,
            parallelism,
            buffer=buffer,
            job_id=f"job_{run}",
            checkpoint_url=url,
            restore_location=restore,
        )
        wait_for_source_records(job, 600 * parallelism)
        checkpoint(job, run)
        commit(job, run)
        crash(job)
        output += job.telemetry.drain().preview_rows[job.dataflow.operators[-1].id]
        restore = epoch_location(url, f"job_{run}", run)
        locations.append(Path(epoch_location(str(tmp_path), f"job_{run}", run)))
    last = start_job(query, 2, buffer=buffer, job_id="job_3", checkpoint_url=url, restore_location=restore)
    last.wait_ended()
    assert all(listener.kinds() == ["running", "finished"] for listener in last.listeners)
    output += last.telemetry.drain().preview_rows[last.dataflow.operators[-1].id]

    # Which rows count: run 1 (p=1) up to its checkpoint; run 2 (p=3) resumed subtask 0 and
    # started the new subtasks 1 and 2 at subtask 0's offset, up to its checkpoint; run 3
    # (p=2) resumed subtasks 0 and 1 to the end (subtask 2's remainder is not read).
    source = last.dataflow.operators[0].id
    (a,) = _next_counters(locations[0], source).values()
    b = _next_counters(locations[1], source)
    assert set(b) == {0, 1, 2} and min(b.values()) >= a
    counters = [*range(n), *range(a, n), *range(a, b[2])]
    expected = {
        k: (c, total)
        for k, c, total in pl.DataFrame({"counter": counters})
        .group_by(k=pl.col("counter") % 13)
        .agg(c=pl.len(), s=pl.col("counter").sum())
        .iter_rows()
    }
    totals: dict[int, tuple[int, int]] = {}
    for row in map(json.loads, output):
        c, s = totals.get(row["k"], (0, 0))
        totals[row["k"]] = (c + row["c"], s + row["s"])
    assert totals == expected


def test_state_files_and_the_commit_log_work_on_any_fsspec_filesystem() -> None:
    """The layout through fsspec's in-memory filesystem, as it would be on s3://."""
    location = epoch_location("memory://weir-test/checkpoints", "job_m", 7)
    directory = EpochDirectory(location)
    table = pa.table({"subtask_index": [1], "next_counter": [42]})
    size = directory.write_state("source_1", 1, table)
    assert size > 0
    assert directory.read_states("source_1") == {1: table}
    assert directory.read_states("window_2") == {}
    assert split_location(location) == ("memory://weir-test/checkpoints/job_m", 7)
    log = CommitLog(split_location(location)[0])
    assert log.committed_epoch("sink_3", 0) == 0
    log.record("sink_3", 0, 7)
    assert log.committed_epoch("sink_3", 0) == 7
