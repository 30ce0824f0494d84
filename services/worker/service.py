"""WorkerService (internal): the controller starts and stops tasks here, and triggers and
commits their checkpoints."""

from __future__ import annotations

import grpc
from opentelemetry import trace

from services import tracing
from services.api_errors import ApiError, invalid_argument, rpc
from services.worker.task_slots import SlotsExhausted, TaskSlots
from weir.v1 import worker_pb2, worker_pb2_grpc

tracer = trace.get_tracer(__name__)


class WorkerServicer(worker_pb2_grpc.WorkerServiceServicer):
    def __init__(self, slots: TaskSlots) -> None:
        self._slots = slots

    @rpc
    async def StartTasks(self, request: worker_pb2.StartTasksRequest, context: grpc.aio.ServicerContext):
        # A child of the controller's `start tasks` span, whose context the call's metadata carries.
        with tracing.server_span(
            tracer,
            "StartTasks",
            context.invocation_metadata(),
            {"job.id": request.job_id, "task.count": len(request.tasks)},
        ):
            if not request.tasks:
                raise invalid_argument("no tasks to start")
            try:
                self._slots.start(
                    request.job_id,
                    request.dataflow,
                    request.tasks,
                    checkpoint_url=request.checkpoint_url,
                    restore_location=request.restore_location,
                )
            except SlotsExhausted as error:
                raise ApiError(grpc.StatusCode.RESOURCE_EXHAUSTED, str(error)) from error
            return worker_pb2.StartTasksResponse()

    @rpc
    async def StopTasks(self, request: worker_pb2.StopTasksRequest, context: grpc.aio.ServicerContext):
        self._slots.stop_job(
            request.job_id, graceful=request.mode == worker_pb2.StopTasksRequest.MODE_GRACEFUL
        )
        return worker_pb2.StopTasksResponse()

    @rpc
    async def TriggerCheckpoint(
        self, request: worker_pb2.TriggerCheckpointRequest, context: grpc.aio.ServicerContext
    ):
        if request.epoch < 1:
            raise invalid_argument(f"epoch must be at least 1, got {request.epoch}")
        self._slots.trigger_checkpoint(request.job_id, request.epoch)
        return worker_pb2.TriggerCheckpointResponse()

    @rpc
    async def CommitCheckpoint(
        self, request: worker_pb2.CommitCheckpointRequest, context: grpc.aio.ServicerContext
    ):
        if request.epoch < 1:
            raise invalid_argument(f"epoch must be at least 1, got {request.epoch}")
        self._slots.commit_checkpoint(request.job_id, request.epoch)
        return worker_pb2.CommitCheckpointResponse()
