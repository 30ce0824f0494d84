"""The part of a dataflow one task runs, checked before anything is built.

A task is a chain of operators at one subtask index (`TaskSpec`): the operators must
exist and be linked one to the next by forward edges. The chain starts either with a
source, or with an operator fed by exchanges from other tasks (`input_task_ids`); every
edge leaving the chain must have its targets in `outputs`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from weir.v1 import dataflow_pb2, worker_pb2

Kind = dataflow_pb2.Operator.Kind


class TaskPlanError(ValueError):
    """A task spec that does not describe a runnable chain of the dataflow."""


@dataclass(frozen=True)
class PlannedOutput:
    """An edge leaving the chain, and the subtasks of its target."""

    edge: dataflow_pb2.Edge
    target_parallelism: int
    targets: tuple[worker_pb2.TaskAddress, ...]


@dataclass(frozen=True)
class TaskPlan:
    job_id: str
    task_id: str
    subtask_index: int
    parallelism: int
    operators: tuple[dataflow_pb2.Operator, ...]
    # The whole dataflow: what flows into and out of the chain depends on other tasks' operators.
    dataflow: dataflow_pb2.Dataflow
    run_id: str = ""
    input_task_ids: tuple[str, ...] = ()
    outputs: tuple[PlannedOutput, ...] = ()

    @property
    def has_source(self) -> bool:
        return self.operators[0].WhichOneof("spec") == "source"

    @property
    def source(self) -> dataflow_pb2.Operator:
        return self.operators[0]

    @classmethod
    def resolve(cls, job_id: str, dataflow: dataflow_pb2.Dataflow, spec: worker_pb2.TaskSpec) -> TaskPlan:
        if not spec.operator_ids:
            raise TaskPlanError(f"task {spec.task_id} has no operators")
        if spec.parallelism < 1 or not 0 <= spec.subtask_index < spec.parallelism:
            raise TaskPlanError(
                f"task {spec.task_id}: subtask index {spec.subtask_index} "
                f"is not within parallelism {spec.parallelism}"
            )
        by_id = {op.id: op for op in dataflow.operators}
        missing = [op_id for op_id in spec.operator_ids if op_id not in by_id]
        if missing:
            raise TaskPlanError(f"task {spec.task_id}: operators {missing} are not in the dataflow")
        operators = tuple(by_id[op_id] for op_id in spec.operator_ids)
        starts_with_source = operators[0].WhichOneof("spec") == "source"
        if starts_with_source and spec.input_task_ids:
            raise TaskPlanError(f"task {spec.task_id} starts with a source but has input tasks")
        if not starts_with_source and not spec.input_task_ids:
            raise TaskPlanError(
                f"task {spec.task_id} starts with {operators[0].id}, not a source, and has no input tasks"
            )
        for op in operators[1:]:
            if op.WhichOneof("spec") == "source":
                raise TaskPlanError(f"task {spec.task_id}: source {op.id} can only start a chain")
        # Forward edges chain; so does a shuffle within a chain of parallelism 1 (one subtask
        # owns every key).
        chainable = {
            (e.source_operator_id, e.target_operator_id)
            for e in dataflow.edges
            if e.kind == dataflow_pb2.Edge.KIND_FORWARD
            or (e.kind == dataflow_pb2.Edge.KIND_SHUFFLE and spec.parallelism == 1)
        }
        for upstream, downstream in itertools.pairwise(operators):
            if (upstream.id, downstream.id) not in chainable:
                raise TaskPlanError(
                    f"task {spec.task_id}: no forward edge from {upstream.id} to {downstream.id}"
                )
        chained = set(spec.operator_ids)
        leaving = [
            e
            for e in dataflow.edges
            if e.source_operator_id in chained and e.target_operator_id not in chained
        ]
        outputs_by_target = {o.target_operator_id: o for o in spec.outputs}
        planned = []
        for edge in leaving:
            if edge.source_operator_id != operators[-1].id:
                raise TaskPlanError(
                    f"task {spec.task_id}: edge {edge.source_operator_id} -> {edge.target_operator_id} "
                    "leaves from inside the chain"
                )
            output = outputs_by_target.get(edge.target_operator_id)
            if output is None:
                raise TaskPlanError(
                    f"task {spec.task_id}: no output for the edge to {edge.target_operator_id}"
                )
            target_parallelism = by_id[edge.target_operator_id].parallelism or spec.parallelism
            if len(output.targets) != target_parallelism:
                raise TaskPlanError(
                    f"task {spec.task_id}: the edge to {edge.target_operator_id} has "
                    f"{len(output.targets)} targets, not its parallelism {target_parallelism}"
                )
            planned.append(PlannedOutput(edge, target_parallelism, tuple(output.targets)))
        return cls(
            job_id,
            spec.task_id,
            spec.subtask_index,
            spec.parallelism,
            operators,
            dataflow,
            run_id=spec.run_id,
            input_task_ids=tuple(spec.input_task_ids),
            outputs=tuple(planned),
        )
