"""ControlPlaneService (internal): workers register, heartbeat, report task events and
acknowledge checkpoints."""

from __future__ import annotations

import grpc

from services.api_errors import invalid_argument, quoted, rpc
from services.controller.job_log import bounded_text
from services.controller.lifecycle.supervisor import JobSupervisors
from services.controller.workers import HEARTBEAT_INTERVAL_MS, WorkerRegistry
from weir.v1 import control_plane_pb2, control_plane_pb2_grpc

MAX_SLOTS = 256


class ControlPlaneServicer(control_plane_pb2_grpc.ControlPlaneServiceServicer):
    def __init__(self, workers: WorkerRegistry, supervisors: JobSupervisors) -> None:
        self._workers = workers
        self._supervisors = supervisors

    @rpc
    async def RegisterWorker(
        self, request: control_plane_pb2.RegisterWorkerRequest, context: grpc.aio.ServicerContext
    ):
        if not request.address or ":" not in request.address:
            raise invalid_argument(f"worker address must be host:port, got {quoted(request.address)}")
        if not 1 <= request.slots <= MAX_SLOTS:
            raise invalid_argument(f"slots must be between 1 and {MAX_SLOTS}, got {request.slots}")
        handle = await self._workers.register(request.address, request.pid, request.slots)
        return control_plane_pb2.RegisterWorkerResponse(
            worker_id=handle.id, heartbeat_interval_ms=HEARTBEAT_INTERVAL_MS
        )

    @rpc
    async def Heartbeat(self, request: control_plane_pb2.HeartbeatRequest, context: grpc.aio.ServicerContext):
        return control_plane_pb2.HeartbeatResponse(known=self._workers.heartbeat(request.worker_id))

    @rpc
    async def ReportTaskEvent(
        self, request: control_plane_pb2.ReportTaskEventRequest, context: grpc.aio.ServicerContext
    ):
        # A failed task's text becomes the job's recovery cause, its log entry and, if the job
        # gives up, its failure_message: cut here, where it enters the controller.
        request.event.message = bounded_text(request.event.message)
        self._supervisors.task_event(request.event)
        return control_plane_pb2.ReportTaskEventResponse()

    @rpc
    async def ReportCheckpoint(
        self, request: control_plane_pb2.ReportCheckpointRequest, context: grpc.aio.ServicerContext
    ):
        self._supervisors.checkpoint_report(request)
        return control_plane_pb2.ReportCheckpointResponse()
