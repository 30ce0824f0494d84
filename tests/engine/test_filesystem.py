"""The filesystem sink: hidden in-progress files, visible only once committed."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from services.paths import PathPolicy
from services.planner import plan_query
from services.worker.engine.envelope import Batch
from services.worker.engine.operators.filesystem import FilesystemSink
from services.worker.engine.row_schema import RowSchema
from tests.engine.harness import start_job


def _visible(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if not p.name.startswith("."))


@pytest.mark.parametrize("file_format", ["json", "parquet"])
def test_a_bounded_job_commits_its_files_at_the_end(tmp_path: Path, file_format: str) -> None:
    out = tmp_path / "out"
    job = start_job(
        "CREATE TABLE impulse WITH (connector = 'impulse', event_rate = '0', message_count = '3000');\n"
        f"CREATE TABLE files WITH (connector = 'filesystem', path = 'out', format = '{file_format}');\n"
        "INSERT INTO files SELECT counter, counter * 2 AS twice FROM impulse WHERE counter % 3 = 0",
        parallelism=2,
        paths=PathPolicy([tmp_path]),
    )
    job.wait_ended()
    files = _visible(out)
    assert len(files) == 2 and all(f.suffix == f".{file_format}" for f in files)
    assert not [p for p in out.iterdir() if p.name.startswith(".")]
    read = pl.read_parquet if file_format == "parquet" else pl.read_ndjson
    got = pl.concat([read(f) for f in files]).sort("counter")
    expected = [c for c in range(3000) if c % 3 == 0]
    assert got["counter"].to_list() == sorted(expected * 2)
    assert (got["twice"] == got["counter"] * 2).all()


class _Context:
    job_id = "job_fs"
    subtask_index = 0


def _sink(directory: Path) -> FilesystemSink:
    dataflow = plan_query(
        "CREATE TABLE impulse WITH (connector = 'impulse', event_rate = '0');\n"
        f"CREATE TABLE files WITH (connector = 'filesystem', path = '{directory}');\n"
        "INSERT INTO files SELECT counter FROM impulse",
        1,
        PathPolicy([directory]),
    )
    spec = dataflow.operators[-1]
    sink = FilesystemSink(spec, RowSchema([]))
    sink._context = _Context()  # type: ignore[assignment]  # only job_id and subtask_index are read
    return sink


def _batch(values: list[int]) -> Batch:
    return Batch(pl.DataFrame({"counter": values}).to_arrow().to_batches()[0], 0)


def test_output_is_hidden_until_its_checkpoint_commits_and_a_restore_commits_staged_files(
    tmp_path: Path,
) -> None:
    sink = _sink(tmp_path)
    sink.write(_batch([1, 2]))
    assert _visible(tmp_path) == []
    sink.prepare_commit(1)
    sink.write(_batch([3]))
    staged = sink.snapshot(1)
    assert _visible(tmp_path) == []
    sink.commit(1)
    assert [pl.read_ndjson(f)["counter"].to_list() for f in _visible(tmp_path)] == [[1, 2]]
    # Epoch 2 was staged in a snapshot but never committed (say the worker died): a restore
    # from that checkpoint commits it, and the in-progress tail stays hidden.
    sink.prepare_commit(2)
    staged = sink.snapshot(2)
    sink.write(_batch([4]))
    sink.close()
    restored = _sink(tmp_path)
    restored.restore([staged])
    restored.commit(2)
    assert [pl.read_ndjson(f)["counter"].to_list() for f in _visible(tmp_path)] == [[1, 2], [3]]
    assert len([p for p in tmp_path.iterdir() if p.name.startswith(".")]) == 1
