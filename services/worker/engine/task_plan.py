"""The part of a dataflow one task runs, checked before anything is built.

A task is a chain of operators at one subtask index (`TaskSpec`): the operators must
exist, be linked one to the next by forward edges, and (for now, until exchanges between
tasks exist) start with a source and have no edges leaving the chain.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from weir.v1 import dataflow_pb2, worker_pb2

Kind = dataflow_pb2.Operator.Kind


class TaskPlanError(ValueError):
    """A task spec that does not describe a runnable chain of the dataflow."""


@dataclass(frozen=True)
class TaskPlan:
    job_id: str
    task_id: str
    subtask_index: int
    parallelism: int
    operators: tuple[dataflow_pb2.Operator, ...]

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
        if operators[0].WhichOneof("spec") != "source":
            raise TaskPlanError(
                f"task {spec.task_id} starts with {operators[0].id}, not a source; "
                "tasks fed by other tasks (exchanges) are not supported yet"
            )
        for op in operators[1:]:
            if op.WhichOneof("spec") == "source":
                raise TaskPlanError(f"task {spec.task_id}: source {op.id} can only start a chain")
        forward = {
            (e.source_operator_id, e.target_operator_id)
            for e in dataflow.edges
            if e.kind == dataflow_pb2.Edge.KIND_FORWARD
        }
        for upstream, downstream in itertools.pairwise(operators):
            if (upstream.id, downstream.id) not in forward:
                raise TaskPlanError(
                    f"task {spec.task_id}: no forward edge from {upstream.id} to {downstream.id}"
                )
        chained = set(spec.operator_ids)
        leaving = [
            e.target_operator_id
            for e in dataflow.edges
            if e.source_operator_id in chained and e.target_operator_id not in chained
        ]
        if leaving:
            raise TaskPlanError(
                f"task {spec.task_id}: edges to {leaving} leave the chain; "
                "exchanges between tasks are not supported yet"
            )
        return cls(job_id, spec.task_id, spec.subtask_index, spec.parallelism, operators)
