"""Which jobs exist and which operators they have: the metrics service never invents jobs.

Telemetry alone cannot say that a job exists (a job with no running subtask reports nothing)
nor which operators it has (an operator may not have reported yet), so every query first asks a
`JobCatalog`. In production the catalog reads the controller's store; `DataflowCatalog` serves
the same answers from planned `Dataflow` messages (embedded use and tests).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from weir.v1 import dataflow_pb2


class OperatorKind(StrEnum):
    """What an operator does, which decides its metric group and which of its counters count
    towards the job totals (records out of sources, records into sinks)."""

    SOURCE = "source"
    TRANSFORM = "transform"
    SINK = "sink"


@dataclass(frozen=True)
class OperatorInfo:
    """One operator of a job's plan, as far as metrics need it."""

    operator_id: str
    operator_name: str
    kind: OperatorKind
    parallelism: int


class JobCatalog(Protocol):
    """Read-only view of the jobs the controller knows."""

    async def get_job_operators(self, job_id: str) -> list[OperatorInfo] | None:
        """The job's operators in plan order, or None when there is no such job."""
        ...


_KINDS: dict[int, OperatorKind] = {
    dataflow_pb2.Operator.KIND_SOURCE: OperatorKind.SOURCE,
    dataflow_pb2.Operator.KIND_TRANSFORM: OperatorKind.TRANSFORM,
    dataflow_pb2.Operator.KIND_SINK: OperatorKind.SINK,
}


def operators_of(dataflow: dataflow_pb2.Dataflow) -> list[OperatorInfo]:
    """The operators of a planned dataflow, in plan order.

    An operator of unspecified kind is a transform: it neither reads nor writes the job's
    external data, so it must not count towards the job's records in or out.
    """
    return [
        OperatorInfo(
            operator_id=op.id,
            operator_name=op.name,
            kind=_KINDS.get(op.kind, OperatorKind.TRANSFORM),
            parallelism=op.parallelism,
        )
        for op in dataflow.operators
    ]


class DataflowCatalog:
    """A `JobCatalog` over planned dataflows, keyed by job id."""

    def __init__(self, dataflows: Mapping[str, dataflow_pb2.Dataflow] | None = None) -> None:
        self._jobs: dict[str, list[OperatorInfo]] = {
            job_id: operators_of(dataflow) for job_id, dataflow in (dataflows or {}).items()
        }

    def add_job(self, job_id: str, dataflow: dataflow_pb2.Dataflow) -> None:
        """Make a job known (e.g. when an embedded controller schedules it)."""
        self._jobs[job_id] = operators_of(dataflow)

    async def get_job_operators(self, job_id: str) -> list[OperatorInfo] | None:
        operators = self._jobs.get(job_id)
        return None if operators is None else list(operators)
