"""Computes the output columns from SQL expressions over the input columns."""

from __future__ import annotations

from sqlglot import exp

from services.worker.engine.column_reads import ColumnReads
from services.worker.engine.envelope import Batch
from services.worker.engine.expressions import check_guards, column_name, compile_expression, parse_expression
from services.worker.engine.frames import to_frame, to_record_batch
from services.worker.engine.operators.base import Operator, Output
from services.worker.engine.row_schema import Field, RowSchema
from weir.v1 import dataflow_pb2


class ProjectOperator(Operator):
    operator_name = "Project"

    def __init__(self, spec: dataflow_pb2.Operator, input_schema: RowSchema) -> None:
        super().__init__(spec, input_schema)
        columns = spec.project.columns
        nodes = [parse_expression(c.sql) for c in columns]
        compiled = [compile_expression(node, input_schema) for node in nodes]
        self.output_schema = RowSchema(
            Field(c.name, e.dtype, e.nullable) for c, e in zip(columns, compiled, strict=True)
        )
        self._names = [c.name for c in columns]
        self._exprs = [e.expr.alias(c.name) for c, e in zip(columns, compiled, strict=True)]
        self._guards = [g for e in compiled for g in e.guards]
        self._outputs = list(zip(self._names, nodes, strict=True))

    def columns_read(self, wanted: ColumnReads | None) -> ColumnReads:
        reads = ColumnReads({})
        for name, node in self._outputs:
            passed = isinstance(node, exp.Column) and node.args.get("table") is None
            if passed and wanted is not None and name in wanted.fields:
                # A column passed on as it is: downstream may read only some of its fields.
                reads |= ColumnReads({column_name(node.this): wanted.fields[name]})
            else:
                reads |= ColumnReads.of_expressions([node])
        return reads

    def process_batch(self, batch: Batch, output: Output) -> None:
        frame = to_frame(batch.data)
        check_guards(frame, self._guards)
        # with_columns, unlike select, broadcasts constant expressions (`SELECT 1 ...`) to
        # the batch's length.
        result = frame.with_columns(self._exprs).select(self._names)
        output.emit(Batch(to_record_batch(result), batch.read_time_ns))
