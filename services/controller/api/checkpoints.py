"""CheckpointService: a job's checkpoints. The checkpoint coordinator (the engine issue)
fills them; until then every job has none, and the answers say exactly that."""

from __future__ import annotations

import asyncio

import grpc

from services.api_errors import invalid_argument, not_found, page_limit, page_offset, rpc
from services.controller.api.jobs import require_job_id
from services.ids import is_valid_id
from services.store import Store
from weir.v1 import checkpoints_pb2, checkpoints_pb2_grpc


class CheckpointServicer(checkpoints_pb2_grpc.CheckpointServiceServicer):
    def __init__(self, store: Store) -> None:
        self._store = store

    @rpc
    async def ListJobCheckpoints(
        self, request: checkpoints_pb2.ListJobCheckpointsRequest, context: grpc.aio.ServicerContext
    ):
        page_limit(request)
        page_offset(request.offset)
        await self._require_job(request.job_id)
        return checkpoints_pb2.ListJobCheckpointsResponse(data=[], has_more=False)

    @rpc
    async def GetJobCheckpoint(
        self, request: checkpoints_pb2.GetJobCheckpointRequest, context: grpc.aio.ServicerContext
    ):
        await self._require_job(request.job_id)
        if not is_valid_id(request.checkpoint_id, "chk"):
            raise invalid_argument(f"malformed checkpoint id {request.checkpoint_id!r}")
        raise not_found(f"checkpoint {request.checkpoint_id} not found for job {request.job_id}")

    async def _require_job(self, job_id: str) -> None:
        if await asyncio.to_thread(self._store.get_job, require_job_id(job_id)) is None:
            raise not_found(f"job {job_id} not found")
