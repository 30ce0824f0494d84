"""Assembles the Dataflow proto: operators numbered in plan order, and their edges."""

from __future__ import annotations

from services.planner.errors import PlanError
from weir.v1 import dataflow_pb2

Kind = dataflow_pb2.Operator.Kind

# Operators in one plan. Without it 64 KiB of SQL plans about 11,500 operators in seconds of
# the controller's CPU; the planner stops at the bound instead. It equals the metrics service's
# default operators per job (TelemetryLimits.operators_per_job), so every operator of a plan
# that is accepted gets metrics.
MAX_PLAN_OPERATORS = 512


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
        if len(self.dataflow.operators) >= MAX_PLAN_OPERATORS:
            raise PlanError(
                f"the plan has more than {MAX_PLAN_OPERATORS} operators; at most {MAX_PLAN_OPERATORS} "
                "are supported: split the query into several pipelines"
            )
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
