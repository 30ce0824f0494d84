"""A window join through checkpoints with real tasks: a job restored at parallelism
1 -> 3 -> 2 joins exactly what its source read (the keyed window state of both sides split
by key-hash ranges at each restore), against a plain Polars computation from the source's
checkpointed offsets."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from services.worker.engine import TelemetryBuffer
from services.worker.engine.checkpointing import epoch_location
from tests.engine.harness import start_job
from tests.engine.test_checkpoint import (
    PACED,
    _next_counters,
    checkpoint,
    commit,
    crash,
    wait_for_source_records,
)

SIDE = (
    "(SELECT counter % 13 AS k, {aggregate}, TUMBLE(INTERVAL '1' HOUR) AS window FROM impulse\n"
    " GROUP BY 1, window)"
)
JOIN = (
    f"SELECT L.k, L.c, R.s FROM {SIDE.format(aggregate='count(*) AS c')} L\n"
    f"JOIN {SIDE.format(aggregate='sum(counter) AS s')} R ON L.k = R.k AND L.window = R.window"
)


def test_a_window_join_continues_exactly_across_restores_at_parallelism_1_3_2(tmp_path: Path) -> None:
    n, url = 4000, tmp_path.as_uri()
    query = PACED.format(rate=12_000, n=n) + JOIN
    buffer = TelemetryBuffer(max_preview_rows=10_000)
    locations = []
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
        # Hour-long windows: nothing is emitted before the input ends.
        assert not job.telemetry.drain().preview_rows[job.dataflow.operators[-1].id]
        restore = epoch_location(url, f"job_{run}", run)
        locations.append(Path(epoch_location(str(tmp_path), f"job_{run}", run)))
    last = start_job(query, 2, buffer=buffer, job_id="job_3", checkpoint_url=url, restore_location=restore)
    last.wait_ended()
    assert all(listener.kinds() == ["running", "finished"] for listener in last.listeners)
    output = [json.loads(row) for row in last.telemetry.drain().preview_rows[last.dataflow.operators[-1].id]]

    # What the source (one, feeding both sides) read, from its offsets (see test_checkpoint's
    # restore test): run 1 up to its checkpoint, run 2's three subtasks from there to
    # theirs, run 3's two to the end.
    (source,) = [op.id for op in last.dataflow.operators if op.WhichOneof("spec") == "source"]
    (a,) = _next_counters(locations[0], source).values()
    b = _next_counters(locations[1], source)
    counters = pl.DataFrame({"counter": [*range(n), *range(a, n), *range(a, b[2])]})
    expected = (
        counters.group_by((pl.col("counter") % 13).alias("k"))
        .agg(pl.len().cast(pl.Int64).alias("c"), pl.col("counter").sum().alias("s"))
        .sort("k")
    )
    assert sorted((row["k"], row["c"], row["s"]) for row in output) == list(expected.iter_rows())
