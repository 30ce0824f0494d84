"""Which jobs exist and which operators they have: the metrics service never invents jobs.

Telemetry alone cannot say that a job exists (a job with no running subtask reports nothing)
nor which operators it has (an operator may not have reported yet), so every query first asks a
`JobCatalog`: the controller's store (store_catalog.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from services.store import JobRecord
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

    async def get_job(self, job_id: str) -> JobRecord | None:
        """The job as the controller last stored it (live views follow its state), or None."""
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
