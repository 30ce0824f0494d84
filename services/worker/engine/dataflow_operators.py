"""A dataflow's operators built outside any task, to learn what crosses its edges.

A task runs one chain, but two things it needs depend on operators of other tasks: the
schema of the rows an exchange-fed chain receives (built from the operators upstream of
it), and which columns and struct fields the operators downstream read (across fan-outs
into other tasks), so that its source skips generating the others and its exchanges skip
sending them (column_reads.py).
Building an operator only compiles its expressions, which is cheap next to running it;
sinks are never built here (their constructors may touch the outside world).
"""

from __future__ import annotations

from services.worker.engine.column_reads import ColumnReads
from services.worker.engine.operators.base import Operator
from services.worker.engine.operators.factory import build_operator
from services.worker.engine.row_schema import RowSchema
from weir.v1 import dataflow_pb2


class DataflowOperators:
    """Builds (once each) the operators of one dataflow that the questions reach."""

    def __init__(self, dataflow: dataflow_pb2.Dataflow) -> None:
        self._by_id = {op.id: op for op in dataflow.operators}
        self._incoming: dict[str, list[str]] = {}
        self._outgoing: dict[str, list[dataflow_pb2.Edge]] = {}
        for edge in dataflow.edges:
            self._incoming.setdefault(edge.target_operator_id, []).append(edge.source_operator_id)
            self._outgoing.setdefault(edge.source_operator_id, []).append(edge)
        self._schemas: dict[str, RowSchema] = {}
        self._built: dict[str, Operator] = {}
        # Memoized: paths that fork and meet again (a join of two aggregates) ask twice.
        self._read_after: dict[str, ColumnReads | None] = {}

    def input_schema(self, operator_id: str) -> RowSchema:
        """The schema of the rows `operator_id` receives. With several inputs (UNION ALL)
        the first edge's is taken; the planner makes them agree."""
        upstream = self._incoming.get(operator_id)
        if not upstream:
            raise ValueError(f"operator {operator_id} has no input")
        return self.output_schema(upstream[0])

    def output_schema(self, operator_id: str) -> RowSchema:
        known = self._schemas.get(operator_id)
        if known is None:
            spec = self._by_id[operator_id]
            if spec.WhichOneof("spec") == "source":
                known = RowSchema.from_columns(spec.source.schema)
            else:
                known = self._operator(operator_id).output_schema
            self._schemas[operator_id] = known
        return known

    def columns_read_after(self, operator_id: str) -> ColumnReads | None:
        """What the operators after `operator_id` read of its output (None: possibly all)."""
        if operator_id not in self._read_after:
            self._read_after[operator_id] = self._read_by_all(self._outgoing.get(operator_id, []))
        return self._read_after[operator_id]

    def _read_by_all(self, edges: list[dataflow_pb2.Edge]) -> ColumnReads | None:
        if not edges:
            return None
        read = ColumnReads({})
        for edge in edges:
            along = self.columns_read_along(edge)
            if along is None:
                return None
            read |= along
        return read

    def columns_read_along(self, edge: dataflow_pb2.Edge) -> ColumnReads | None:
        """What the target of `edge` and the operators after it read of the rows crossing
        it, with the key columns it is routed by (None: possibly all)."""
        target = self._by_id[edge.target_operator_id]
        if target.WhichOneof("spec") == "sink":
            return None
        wanted = self._operator(target.id).columns_read(self.columns_read_after(target.id))
        return None if wanted is None else wanted | ColumnReads.whole(edge.key_columns)

    def _operator(self, operator_id: str) -> Operator:
        built = self._built.get(operator_id)
        if built is None:
            built = build_operator(self._by_id[operator_id], self.input_schema(operator_id))
            self._built[operator_id] = built
        return built
