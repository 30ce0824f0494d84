"""WorkerService (internal): the controller starts and stops tasks here."""

from __future__ import annotations

import grpc

from services.api_errors import ApiError, invalid_argument, rpc
from services.worker.task_slots import SlotsExhausted, TaskSlots
from weir.v1 import worker_pb2, worker_pb2_grpc


class WorkerServicer(worker_pb2_grpc.WorkerServiceServicer):
    def __init__(self, slots: TaskSlots) -> None:
        self._slots = slots

    @rpc
    async def StartTasks(self, request: worker_pb2.StartTasksRequest, context: grpc.aio.ServicerContext):
        if not request.tasks:
            raise invalid_argument("no tasks to start")
        try:
            self._slots.start(request.job_id, request.dataflow, request.tasks)
        except SlotsExhausted as error:
            raise ApiError(grpc.StatusCode.RESOURCE_EXHAUSTED, str(error)) from error
        return worker_pb2.StartTasksResponse()

    @rpc
    async def StopTasks(self, request: worker_pb2.StopTasksRequest, context: grpc.aio.ServicerContext):
        self._slots.stop_job(
            request.job_id, graceful=request.mode == worker_pb2.StopTasksRequest.MODE_GRACEFUL
        )
        return worker_pb2.StopTasksResponse()
