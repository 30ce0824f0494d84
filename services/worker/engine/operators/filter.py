"""Keeps the rows for which a SQL condition is true (NULL counts as false, as in SQL)."""

from __future__ import annotations

from services.worker.engine.column_reads import ColumnReads
from services.worker.engine.envelope import Batch
from services.worker.engine.expressions import check_guards, compile_predicate, parse_expression
from services.worker.engine.frames import to_frame, to_record_batch
from services.worker.engine.operators.base import Operator, Output
from services.worker.engine.row_schema import RowSchema
from weir.v1 import dataflow_pb2


class FilterOperator(Operator):
    operator_name = "Filter"

    def __init__(self, spec: dataflow_pb2.Operator, input_schema: RowSchema) -> None:
        super().__init__(spec, input_schema)
        predicate = parse_expression(spec.filter.predicate)
        self._predicate = compile_predicate(predicate, input_schema)
        self._reads = ColumnReads.of_expressions([predicate])

    def columns_read(self, wanted: ColumnReads | None) -> ColumnReads | None:
        return None if wanted is None else wanted | self._reads

    def process_batch(self, batch: Batch, output: Output) -> None:
        frame = to_frame(batch.data)
        check_guards(frame, self._predicate.guards)
        kept = frame.filter(self._predicate.expr)
        if kept.height == frame.height:
            output.emit(batch)
        elif kept.height:
            output.emit(Batch(to_record_batch(kept), batch.read_time_ns))
