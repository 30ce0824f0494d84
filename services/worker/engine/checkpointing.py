"""Where a task's checkpoint state lives, and how it is written and read back.

Layout (the shared contract): `<checkpoint_url>/<job_id>/epoch_<N>/<operator_id>/<subtask>.parquet`,
one Parquet file per stateful operator subtask, through fsspec so that `file://`, `memory://`
and `s3://` (where s3fs is installed) work alike. A stateless operator (snapshot None)
writes nothing.

A sink's snapshot is the output it staged and has not yet committed, one row group per
staged epoch in a `_staged_epoch` column. Committing is recorded per sink subtask in
`<checkpoint_url>/<job_id>/committed/<operator_id>/<subtask>` (the highest committed epoch),
and a restore re-commits only staged rows of later epochs: the second phase of the
two-phase commit is thereby idempotent across a failure between commit and restore, and
across several restores from the same checkpoint.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass

import fsspec
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from fsspec.spec import AbstractFileSystem

from services.worker.engine.operators.base import STAGED_EPOCH_COLUMN, Operator, SinkOperator, SourceOperator

Snapshottable = Operator | SourceOperator

_SUBTASK_FILE = re.compile(r"^(\d+)\.parquet$")
_EPOCH_DIR = re.compile(r"^(.*)/epoch_(\d+)/*$")


@dataclass(frozen=True)
class SubtaskState:
    """The size of one operator subtask's snapshot in a checkpoint."""

    operator_id: str
    subtask_index: int
    size_bytes: int


def epoch_location(checkpoint_url: str, job_id: str, epoch: int) -> str:
    """The directory of checkpoint `epoch` of a job."""
    return f"{checkpoint_url.rstrip('/')}/{job_id}/epoch_{epoch}"


def split_location(location: str) -> tuple[str, int]:
    """The job directory and the epoch of an epoch location (`<job dir>/epoch_<N>`)."""
    match = _EPOCH_DIR.match(location)
    if match is None:
        raise ValueError(f"{location!r} is not a checkpoint epoch location (.../epoch_<N>)")
    return match.group(1), int(match.group(2))


class EpochDirectory:
    """One epoch location, opened through fsspec."""

    def __init__(self, location: str) -> None:
        self.location = location
        fs, root = fsspec.core.url_to_fs(location)
        self._fs: AbstractFileSystem = fs
        self._root: str = root

    def _path(self, operator_id: str, name: str) -> str:
        return posixpath.join(self._root, operator_id, name)

    def write_state(self, operator_id: str, subtask_index: int, table: pa.Table) -> int:
        """Write one operator subtask's snapshot; its size in bytes."""
        self._fs.makedirs(posixpath.join(self._root, operator_id), exist_ok=True)
        path = self._path(operator_id, f"{subtask_index}.parquet")
        with self._fs.open(path, "wb") as file:
            pq.write_table(table, file)
        return int(self._fs.size(path))

    def read_states(self, operator_id: str) -> dict[int, pa.Table]:
        """Every subtask's snapshot of an operator, by subtask index (empty if none)."""
        directory = posixpath.join(self._root, operator_id)
        if not self._fs.exists(directory):
            return {}
        tables: dict[int, pa.Table] = {}
        for path in self._fs.ls(directory, detail=False):
            match = _SUBTASK_FILE.match(posixpath.basename(path))
            if match is not None:
                with self._fs.open(path, "rb") as file:
                    tables[int(match.group(1))] = pq.read_table(file)
        return dict(sorted(tables.items()))


class CommitLog:
    """The highest epoch each sink subtask of a job committed."""

    def __init__(self, job_directory: str) -> None:
        fs, root = fsspec.core.url_to_fs(job_directory)
        self._fs: AbstractFileSystem = fs
        self._root: str = posixpath.join(root, "committed")

    def _path(self, operator_id: str, subtask_index: int) -> str:
        return posixpath.join(self._root, operator_id, str(subtask_index))

    def committed_epoch(self, operator_id: str, subtask_index: int) -> int:
        """0 when the sink subtask never committed."""
        path = self._path(operator_id, subtask_index)
        if not self._fs.exists(path):
            return 0
        return int(self._fs.cat_file(path).decode())

    def record(self, operator_id: str, subtask_index: int, epoch: int) -> None:
        self._fs.makedirs(posixpath.join(self._root, operator_id), exist_ok=True)
        self._fs.pipe_file(self._path(operator_id, subtask_index), str(epoch).encode())


def tables_for_sink(
    states: dict[int, pa.Table], subtask_index: int, parallelism: int
) -> Sequence[tuple[int, pa.Table]]:
    """The old sink subtasks whose staged output sink subtask `subtask_index` takes over:
    old subtask j goes to new subtask j % parallelism, so each is committed exactly once."""
    return [(old, table) for old, table in states.items() if old % parallelism == subtask_index]


class TaskCheckpoints:
    """A task's side of checkpoints: snapshots at barriers, two-phase commit of its sinks,
    and restoring its operators from an epoch location. Used only on the task's thread."""

    def __init__(
        self, job_id: str, subtask_index: int, parallelism: int, checkpoint_url: str, restore_location: str
    ) -> None:
        self._job_id = job_id
        self._subtask_index = subtask_index
        self._parallelism = parallelism
        self._checkpoint_url = checkpoint_url
        self._restore_location = restore_location
        self._epoch: int | None = None
        self._directory: EpochDirectory | None = None
        self._states: list[SubtaskState] = []
        # Sink state files written but not yet marked committed: (epoch, operator id).
        self._uncommitted: list[tuple[int, str]] = []
        # Restored staged output to commit once the sinks are open: operator id -> old subtasks.
        self._restored_staged: dict[str, list[int]] = {}

    # At a barrier

    def begin(self, epoch: int) -> None:
        self._epoch = epoch
        self._states = []
        self._directory = (
            EpochDirectory(epoch_location(self._checkpoint_url, self._job_id, epoch))
            if self._checkpoint_url
            else None
        )

    def capture(self, operator_id: str, operator: Snapshottable) -> None:
        """Snapshot one operator at the barrier of the current epoch (sinks stage first)."""
        epoch = self._epoch
        if epoch is None:
            raise RuntimeError("capture outside a checkpoint")
        if isinstance(operator, SinkOperator):
            operator.prepare_commit(epoch)
        table = operator.snapshot(epoch)
        if table is None or self._directory is None:
            return
        size = self._directory.write_state(operator_id, self._subtask_index, table)
        self._states.append(SubtaskState(operator_id, self._subtask_index, size))
        if isinstance(operator, SinkOperator):
            self._uncommitted.append((epoch, operator_id))

    def end(self) -> list[SubtaskState]:
        """The barrier passed every operator: what was written for the epoch."""
        states, self._states, self._epoch = self._states, [], None
        return states

    # On commit

    def commit(self, epoch: int, sinks: Sequence[tuple[str, SinkOperator]]) -> None:
        """Checkpoint `epoch` completed: sinks publish, and their staged state of epochs
        <= `epoch` is marked committed, so that a restore does not publish it again."""
        for _, sink in sinks:
            sink.commit(epoch)
        done = {op for e, op in self._uncommitted if e <= epoch}
        self._uncommitted = [(e, op) for e, op in self._uncommitted if e > epoch]
        if done:
            log = CommitLog(f"{self._checkpoint_url.rstrip('/')}/{self._job_id}")
            for operator_id in sorted(done):
                log.record(operator_id, self._subtask_index, epoch)

    # On restore

    def restore(self, operators: Sequence[tuple[str, Snapshottable]]) -> None:
        """Hand each operator its state from the restore location (before `open`)."""
        if not self._restore_location:
            return
        directory = EpochDirectory(self._restore_location)
        job_directory, restored_epoch = split_location(self._restore_location)
        log = CommitLog(job_directory)
        for operator_id, operator in operators:
            states = directory.read_states(operator_id)
            if not states:
                continue
            if isinstance(operator, SinkOperator):
                pending = []
                for old, table in tables_for_sink(states, self._subtask_index, self._parallelism):
                    committed = log.committed_epoch(operator_id, old)
                    if STAGED_EPOCH_COLUMN in table.column_names:
                        staged = table.filter(pc.greater(table.column(STAGED_EPOCH_COLUMN), committed))
                    else:  # all of it staged for the restored epoch
                        staged = table if committed < restored_epoch else table.slice(0, 0)
                    if staged.num_rows:
                        pending.append((old, staged))
                if pending:
                    operator.restore([table for _, table in pending])
                    self._restored_staged[operator_id] = [old for old, _ in pending]
            else:
                operator.restore(list(states.values()))

    def commit_restored(self, sinks: Sequence[tuple[str, SinkOperator]]) -> None:
        """After `open`: the restored checkpoint completed, so what its sinks had staged
        and not committed is committed now (and marked, for a later restore from it)."""
        if not self._restored_staged:
            return
        job_directory, epoch = split_location(self._restore_location)
        log = CommitLog(job_directory)
        for operator_id, sink in sinks:
            olds = self._restored_staged.get(operator_id)
            if olds:
                sink.commit(epoch)
                for old in olds:
                    log.record(operator_id, old, epoch)
        self._restored_staged = {}
