"""The single_file connector: one file of JSON lines, read as a source or written as a sink.

Source options: `path`, `format` ('json', the only one), `bad_data` ('drop', default:
a line that does not parse into the declared columns is reported as a job error carrying
the line, and skipped; 'fail': it fails the job). The table must declare its columns. Only
subtask 0 reads (a file is one stream); its snapshot is the byte offset of the next line.

The file is parsed in chunks of whole lines by Polars' NDJSON reader (vectorized); only a
chunk that fails to parse is retried line by line, to find and report the bad lines.

Sink: appends each batch as JSON lines (one write per batch); output is at-least-once
across failures. Use the `filesystem` sink for exactly-once files.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Mapping

import polars as pl
import pyarrow as pa

from services.paths import PathPolicy
from services.worker.engine.envelope import Batch
from services.worker.engine.errors import ConnectorOptionError, RecordError
from services.worker.engine.frames import to_frame, to_record_batch
from services.worker.engine.json_lines import json_lines
from services.worker.engine.operators.base import EXHAUSTED, Poll, SinkOperator, SourceOperator
from services.worker.engine.operators.file_options import check_known, checked_path, choice
from services.worker.engine.row_schema import RowSchema
from weir.v1 import dataflow_pb2

CHUNK_BYTES = 4 << 20
_SOURCE_OPTIONS = ("path", "format", "bad_data", "type")
_SINK_OPTIONS = ("path", "format", "type")
_OFFSET_SCHEMA = pa.schema([pa.field("offset", pa.int64(), False)])


class SingleFileSource(SourceOperator):
    connector = "single_file"
    operator_name = "SingleFileSource"

    @classmethod
    def validate_options(cls, options: Mapping[str, str], paths: PathPolicy | None) -> None:
        check_known(cls.connector, options, _SOURCE_OPTIONS)
        checked_path(cls.connector, options, paths)
        choice(options, "format", ("json",), "json")
        choice(options, "bad_data", ("drop", "fail"), "drop")

    @classmethod
    def table_schema(cls, declared: RowSchema | None) -> RowSchema:
        if declared is None or not len(declared):
            raise ConnectorOptionError("", "a single_file source table must declare its columns")
        return declared

    def __init__(self, spec: dataflow_pb2.Operator, subtask_index: int, parallelism: int) -> None:
        super().__init__(spec, subtask_index, parallelism)
        options = spec.source.options
        self._path = options["path"]
        self._fail_on_bad_data = options.get("bad_data", "drop") == "fail"
        self._schema = self.output_schema.polars_schema()
        self._required = [f.name for f in self.output_schema if not f.nullable]
        self._offset = 0
        self._file: io.BufferedReader | None = None

    def restore(self, tables: list[pa.Table]) -> None:
        offsets = [o for t in tables for o in t.column("offset").to_pylist()]
        self._offset = max(offsets, default=0)

    def snapshot(self, epoch: int) -> pa.Table | None:
        return pa.table({"offset": [self._offset]}, schema=_OFFSET_SCHEMA)

    def poll(self) -> Poll:
        if self.subtask_index != 0:
            return EXHAUSTED
        if self._file is None:
            try:
                self._file = open(self._path, "rb")  # noqa: SIM115 (held across polls, closed in close)
            except OSError as error:
                raise RuntimeError(f"cannot read {self._path}: {error.strerror}") from None
            self._file.seek(self._offset)
        while True:
            chunk = self._file.read(CHUNK_BYTES)
            if not chunk:
                return EXHAUSTED
            end = chunk.rfind(b"\n") + 1
            if end == 0 or len(chunk) < CHUNK_BYTES:
                end = len(chunk)
            self._file.seek(self._offset + end)
            lines = chunk[:end]
            self._offset += end
            frame = self._parse(lines)
            if frame.height:
                return to_record_batch(frame)

    def _parse(self, lines: bytes) -> pl.DataFrame:
        if lines.strip():
            try:
                frame = pl.read_ndjson(io.BytesIO(lines), schema=self._schema)
                if (
                    not self._required
                    or not frame.select(pl.any_horizontal(pl.col(self._required).is_null()).any()).item()
                ):
                    return frame
            except pl.exceptions.PolarsError:
                pass
        return self._parse_line_by_line(lines)

    def _parse_line_by_line(self, lines: bytes) -> pl.DataFrame:
        """The slow path, only for chunks holding a bad line: find and report each."""
        good: list[pl.DataFrame] = []
        for line in lines.splitlines():
            if not line.strip():
                continue
            try:
                json.loads(line)
                frame = pl.read_ndjson(io.BytesIO(line), schema=self._schema)
                missing = [c for c in self._required if frame[c].null_count()]
                if missing:
                    raise ValueError(f"no value for NOT NULL column {missing[0]!r}")
            except (ValueError, pl.exceptions.PolarsError) as error:
                self._bad_record(line.decode("utf-8", "replace"), error)
                continue
            good.append(frame)
        return pl.concat(good) if good else pl.DataFrame(schema=self._schema)

    def _bad_record(self, record: str, error: Exception) -> None:
        message = f"bad record in {self._path}: {str(error).splitlines()[0] if str(error) else error!r}"
        if self._fail_on_bad_data:
            raise RecordError(message, record)
        context = self.context
        context.telemetry.error(
            context.job_id, message, context.operator_id, self.subtask_index, record=record
        )

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


class SingleFileSink(SinkOperator):
    connector = "single_file"
    operator_name = "SingleFileSink"

    @classmethod
    def validate_options(cls, options: Mapping[str, str], paths: PathPolicy | None) -> None:
        check_known(cls.connector, options, _SINK_OPTIONS)
        checked_path(cls.connector, options, paths)
        choice(options, "format", ("json",), "json")

    def __init__(self, spec: dataflow_pb2.Operator, input_schema: RowSchema) -> None:
        super().__init__(spec, input_schema)
        self._path = spec.sink.options["path"]
        self._fd: int | None = None

    def write(self, batch: Batch) -> None:
        if self._fd is None:
            # O_APPEND: one write per batch, so subtasks writing the same file never
            # interleave inside a batch.
            self._fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        data = json_lines(to_frame(batch.data)).encode()
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]

    def flush(self) -> None:
        if self._fd is not None:
            os.fsync(self._fd)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
