"""Event-time watermarks for windows, generated from the rows themselves.

After each batch the operator emits `Watermark(max event time seen - delay - 1 ms)`
when that advanced: a row can be up to `delay` behind the latest one and still count
(`WATERMARK FOR ts AS ts - INTERVAL '5' SECOND`), and the extra millisecond keeps rows at
exactly the latest instant on time, since a watermark T promises no rows at or before T.
Generated right after the source, in the source's task, so that downstream exchanges can
align the watermarks of all input subtasks (the minimum wins).
"""

from __future__ import annotations

import polars as pl

from services.worker.engine.column_reads import ColumnReads
from services.worker.engine.envelope import Batch, Watermark
from services.worker.engine.frames import to_frame
from services.worker.engine.operators.base import Operator, Output
from services.worker.engine.row_schema import RowSchema
from weir.v1 import dataflow_pb2


class WatermarkOperator(Operator):
    operator_name = "Watermark"

    def __init__(self, spec: dataflow_pb2.Operator, input_schema: RowSchema) -> None:
        super().__init__(spec, input_schema)
        self._column = spec.watermark.time_column
        self._delay_ms = spec.watermark.delay_ms
        field = input_schema.get(self._column)
        if field is None or not isinstance(field.dtype, pl.Datetime):
            raise ValueError(f"watermark column {self._column!r} is not a TIMESTAMP column of {input_schema}")
        self._max_time_ms: int | None = None
        self._emitted_ms: int | None = None

    def columns_read(self, wanted: ColumnReads | None) -> ColumnReads | None:
        return None if wanted is None else wanted | ColumnReads.whole([self._column])

    def process_batch(self, batch: Batch, output: Output) -> None:
        output.emit(batch)
        latest = to_frame(batch.data).get_column(self._column).dt.epoch("ms").max()
        if latest is None:
            return
        assert isinstance(latest, int)
        if self._max_time_ms is None or latest > self._max_time_ms:
            self._max_time_ms = latest
            watermark = latest - self._delay_ms - 1
            if self._emitted_ms is None or watermark > self._emitted_ms:
                self._emitted_ms = watermark
                output.emit(Watermark(watermark))
