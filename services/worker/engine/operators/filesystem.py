"""The filesystem sink: files of JSON lines or Parquet in a directory, exactly once.

Options: `path` (a directory, created if missing), `format` ('json' default, or 'parquet').

Each subtask writes one file per checkpoint epoch. A file is written as a hidden
in-progress dot-file (`.part-<job>-<subtask>-<epoch>.<ext>.inprogress`), closed at the
epoch's barrier (`prepare_commit`: it is now staged, and named in the snapshot), and
renamed to its visible name (`part-<job>-<subtask>-<epoch>.<ext>`) when the checkpoint
completes (`commit`). Readers that skip dot-files (Spark, Polars, DuckDB, `ls`) thus only
ever see committed output. After a restore, files staged in the restored checkpoint are
committed; in-progress files of a job that failed are left hidden (never visible).
A job that does not checkpoint, or finishes bounded, commits everything at the end.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from services.paths import PathPolicy
from services.worker.engine.envelope import Batch
from services.worker.engine.frames import to_frame
from services.worker.engine.json_lines import json_lines
from services.worker.engine.operators.base import STAGED_EPOCH_COLUMN, Output, SinkOperator
from services.worker.engine.operators.file_options import check_known, checked_path, choice
from services.worker.engine.row_schema import RowSchema
from weir.v1 import dataflow_pb2

_OPTIONS = ("path", "format", "type")
_EXTENSIONS = {"json": "json", "parquet": "parquet"}
IN_PROGRESS_SUFFIX = ".inprogress"
_STAGED_SCHEMA = pa.schema(
    [pa.field(STAGED_EPOCH_COLUMN, pa.int64(), False), pa.field("file", pa.string(), False)]
)


class _PartFile:
    """One in-progress file: its final name, and a writer for the chosen format."""

    def __init__(self, directory: Path, name: str, parquet: bool, schema: pa.Schema) -> None:
        self.name = name
        self.hidden = directory / f".{name}{IN_PROGRESS_SUFFIX}"
        self._stream: BinaryIO = open(self.hidden, "wb")  # noqa: SIM115 (closed in close)
        self._parquet = pq.ParquetWriter(self._stream, schema) if parquet else None

    def write(self, batch: pa.RecordBatch) -> None:
        if self._parquet is not None:
            self._parquet.write_batch(batch)
        else:
            self._stream.write(json_lines(to_frame(batch)).encode())

    def close(self) -> None:
        """Finish the file durably (it may be committed by a later process)."""
        if self._parquet is not None:
            self._parquet.close()
        self._stream.flush()
        os.fsync(self._stream.fileno())
        self._stream.close()


class FilesystemSink(SinkOperator):
    connector = "filesystem"
    operator_name = "FilesystemSink"

    @classmethod
    def validate_options(cls, options: Mapping[str, str], paths: PathPolicy | None) -> None:
        check_known(cls.connector, options, _OPTIONS)
        checked_path(cls.connector, options, paths)
        choice(options, "format", tuple(_EXTENSIONS), "json")

    def __init__(self, spec: dataflow_pb2.Operator, input_schema: RowSchema) -> None:
        super().__init__(spec, input_schema)
        options = spec.sink.options
        self._directory = Path(options["path"])
        self._format = options.get("format", "json")
        self._epoch = 1
        self._current: _PartFile | None = None
        self._staged: dict[int, list[str]] = {}

    def write(self, batch: Batch) -> None:
        if self._current is None:
            context = self.context
            self._directory.mkdir(parents=True, exist_ok=True)
            name = (
                f"part-{context.job_id}-{context.subtask_index:05d}-{self._epoch:06d}."
                f"{_EXTENSIONS[self._format]}"
            )
            self._current = _PartFile(self._directory, name, self._format == "parquet", batch.data.schema)
        self._current.write(batch.data)

    def _stage(self, epoch: int) -> None:
        if self._current is not None:
            self._current.close()
            self._staged.setdefault(epoch, []).append(self._current.name)
            self._current = None

    def prepare_commit(self, epoch: int) -> None:
        self._stage(epoch)
        self._epoch = epoch + 1

    def snapshot(self, epoch: int) -> pa.Table | None:
        epochs = [e for e, names in sorted(self._staged.items()) for _ in names]
        names = [n for _, names in sorted(self._staged.items()) for n in names]
        return pa.table({STAGED_EPOCH_COLUMN: epochs, "file": names}, schema=_STAGED_SCHEMA)

    def restore(self, tables: list[pa.Table]) -> None:
        # Staged files are named by subtask; whichever new subtask restores a row commits
        # it, and committing twice is harmless (see `_publish`), so every subtask takes all.
        for table in tables:
            for row in table.to_pylist():
                self._staged.setdefault(row[STAGED_EPOCH_COLUMN], []).append(row["file"])

    def commit(self, epoch: int) -> None:
        for staged_epoch in sorted(e for e in self._staged if e <= epoch):
            for name in self._staged.pop(staged_epoch):
                self._publish(name)

    def _publish(self, name: str) -> None:
        hidden = self._directory / f".{name}{IN_PROGRESS_SUFFIX}"
        try:
            os.replace(hidden, self._directory / name)
        except FileNotFoundError:
            if not (self._directory / name).exists():
                raise

    def finish(self, output: Output) -> None:
        """The input ended: nothing follows, so what was written is final; commit it all."""
        self._stage(self._epoch)
        self.commit(max(self._staged, default=0))

    def close(self) -> None:
        if self._current is not None:
            self._current.close()
            self._current = None
