"""Computes the output columns from SQL expressions over the input columns."""

from __future__ import annotations

from services.worker.engine.envelope import Batch
from services.worker.engine.expressions import check_guards, compile_expression, parse_expression
from services.worker.engine.frames import to_frame, to_record_batch
from services.worker.engine.operators.base import Operator, Output
from services.worker.engine.row_schema import Field, RowSchema
from weir.v1 import dataflow_pb2


class ProjectOperator(Operator):
    operator_name = "Project"

    def __init__(self, spec: dataflow_pb2.Operator, input_schema: RowSchema) -> None:
        super().__init__(spec, input_schema)
        columns = spec.project.columns
        compiled = [compile_expression(parse_expression(c.sql), input_schema) for c in columns]
        self.output_schema = RowSchema(
            Field(c.name, e.dtype, e.nullable) for c, e in zip(columns, compiled, strict=True)
        )
        self._names = [c.name for c in columns]
        self._exprs = [e.expr.alias(c.name) for c, e in zip(columns, compiled, strict=True)]
        self._guards = [g for e in compiled for g in e.guards]
        self._reads = frozenset(name for e in self._exprs for name in e.meta.root_names())

    def columns_read(self, wanted: frozenset[str] | None) -> frozenset[str] | None:
        return self._reads

    def process_batch(self, batch: Batch, output: Output) -> None:
        frame = to_frame(batch.data)
        check_guards(frame, self._guards)
        # with_columns, unlike select, broadcasts constant expressions (`SELECT 1 ...`) to
        # the batch's length.
        result = frame.with_columns(self._exprs).select(self._names)
        output.emit(Batch(to_record_batch(result), batch.read_time_ns))
