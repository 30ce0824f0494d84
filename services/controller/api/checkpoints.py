"""CheckpointService: a job's checkpoints as the checkpoint coordinator recorded them, with
the state each operator (and each of its subtasks) wrote."""

from __future__ import annotations

import asyncio

import grpc

from services.api_errors import invalid_argument, not_found, page_limit, page_offset, quoted, rpc
from services.controller.api.jobs import require_job_id
from services.ids import is_valid_id
from services.store import CheckpointRecord, JobRecord, Store
from weir.v1 import checkpoints_pb2, checkpoints_pb2_grpc, dataflow_pb2


class CheckpointServicer(checkpoints_pb2_grpc.CheckpointServiceServicer):
    def __init__(self, store: Store) -> None:
        self._store = store

    @rpc
    async def ListJobCheckpoints(
        self, request: checkpoints_pb2.ListJobCheckpointsRequest, context: grpc.aio.ServicerContext
    ):
        limit = page_limit(request)
        offset = page_offset(request.offset)
        job = await self._job(request.job_id)
        checkpoints, has_more = await asyncio.to_thread(
            self._store.list_checkpoints,
            job.id,
            completed=request.completed if request.HasField("completed") else None,
            limit=limit,
            offset=offset,
        )
        return checkpoints_pb2.ListJobCheckpointsResponse(
            data=[to_proto(c, job, details=False) for c in checkpoints], has_more=has_more
        )

    @rpc
    async def GetJobCheckpoint(
        self, request: checkpoints_pb2.GetJobCheckpointRequest, context: grpc.aio.ServicerContext
    ):
        job = await self._job(request.job_id)
        if not is_valid_id(request.checkpoint_id, "chk"):
            raise invalid_argument(
                f"malformed checkpoint id {quoted(request.checkpoint_id)}: "
                "expected chk_ followed by 26 characters"
            )
        checkpoint = await asyncio.to_thread(self._store.get_checkpoint, request.checkpoint_id)
        if checkpoint is None or checkpoint.job_id != job.id:
            raise not_found(f"checkpoint {request.checkpoint_id} not found for job {job.id}")
        return to_proto(checkpoint, job, details=True)

    async def _job(self, job_id: str) -> JobRecord:
        job = await asyncio.to_thread(self._store.get_job, require_job_id(job_id))
        if job is None:
            raise not_found(f"job {job_id} not found")
        return job


def to_proto(checkpoint: CheckpointRecord, job: JobRecord, *, details: bool) -> checkpoints_pb2.Checkpoint:
    """A checkpoint as the API shows it: operators in plan order, each with its total size; with
    `details`, also the operator's name and the size per subtask (as the spec's two examples)."""
    operators = dataflow_pb2.Dataflow.FromString(job.dataflow).operators
    plan_order = {op.id: index for index, op in enumerate(operators)}
    names = {op.id: op.name for op in operators}
    by_operator: dict[str, list[checkpoints_pb2.SubtaskState]] = {}
    for state in checkpoint.subtask_states:
        by_operator.setdefault(state.operator_id, []).append(
            checkpoints_pb2.SubtaskState(subtask_index=state.subtask_index, state_size=state.size_bytes)
        )
    operator_states = []
    for operator_id in sorted(by_operator, key=lambda o: (plan_order.get(o, len(plan_order)), o)):
        subtasks = sorted(by_operator[operator_id], key=lambda s: s.subtask_index)
        operator_state = checkpoints_pb2.OperatorState(
            operator_id=operator_id, state_size=sum(s.state_size for s in subtasks)
        )
        if details:
            operator_state.operator_name = names.get(operator_id, "")
            operator_state.subtask_states.extend(subtasks)
        operator_states.append(operator_state)
    message = checkpoints_pb2.Checkpoint(
        id=checkpoint.id,
        job_id=checkpoint.job_id,
        epoch=checkpoint.epoch,
        start_time=checkpoint.start_time,
        state=checkpoints_pb2.Checkpoint.State.Value(checkpoint.state),
        size_bytes=checkpoint.size_bytes,
        backend=checkpoint.backend,
        location=checkpoint.location,
        operator_states=operator_states,
    )
    if checkpoint.finish_time is not None:
        message.finish_time = checkpoint.finish_time
    return message
