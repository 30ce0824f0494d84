"""Assembles the Dataflow proto: operators numbered in plan order, and their edges."""

from __future__ import annotations

from weir.v1 import dataflow_pb2

Kind = dataflow_pb2.Operator.Kind


class DataflowBuilder:
    """Operators get ids `<prefix>_<n>`, n counting from 1 across the whole dataflow
    (`source_1`, `filter_2`, `project_3`, `sink_4`), so ids say both what and where."""

    def __init__(self, parallelism: int) -> None:
        self.parallelism = parallelism
        self.dataflow = dataflow_pb2.Dataflow()

    def add(
        self, prefix: str, name: str, kind: Kind.ValueType, parallelism: int | None = None, **spec: object
    ) -> str:
        """Add an operator with the job's parallelism, or `parallelism` if given."""
        operator_id = f"{prefix}_{len(self.dataflow.operators) + 1}"
        self.dataflow.operators.append(
            dataflow_pb2.Operator(
                id=operator_id, name=name, kind=kind, parallelism=parallelism or self.parallelism, **spec
            )
        )
        return operator_id

    def parallelism_of(self, operator_id: str) -> int:
        return next(op.parallelism for op in self.dataflow.operators if op.id == operator_id)

    def connect(self, upstream: str, downstream: str) -> None:
        """A forward edge: subtask i feeds subtask i."""
        self.dataflow.edges.append(
            dataflow_pb2.Edge(
                source_operator_id=upstream,
                target_operator_id=downstream,
                kind=dataflow_pb2.Edge.KIND_FORWARD,
            )
        )

    def shuffle(self, upstream: str, downstream: str, key_columns: list[str]) -> None:
        """A key-by edge: rows are routed by the hash of `key_columns` (all to the one
        subtask of `downstream` when there are no keys)."""
        self.dataflow.edges.append(
            dataflow_pb2.Edge(
                source_operator_id=upstream,
                target_operator_id=downstream,
                kind=dataflow_pb2.Edge.KIND_SHUFFLE,
                key_columns=key_columns,
            )
        )
