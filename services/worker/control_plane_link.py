"""The worker's link to the controller: register, heartbeat, deliver task events and
checkpoint acknowledgements (one ordered stream).

A worker the controller does not know (a restarted controller, or one that declared this
worker lost) cancels all its tasks before registering again: the controller reschedules
them, and a task must never run twice. For the same reason a worker that cannot reach the
controller for longer than the controller waits before declaring it lost cancels its tasks.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time

import grpc

from services.serving import insecure_channel
from services.worker.task_slots import TaskReport, TaskSlots
from weir.v1 import control_plane_pb2, control_plane_pb2_grpc

log = logging.getLogger(__name__)

RPC_TIMEOUT_S = 5.0
RETRY_S = 0.5
# Slightly less than the controller's LOST_AFTER_MS: stop before the controller reschedules.
ORPHAN_AFTER_S = 8.0


class ControlPlaneLink:
    def __init__(self, controller_address: str, advertised_address: str, slots: TaskSlots) -> None:
        self._channel = insecure_channel(controller_address)
        self._stub = control_plane_pb2_grpc.ControlPlaneServiceStub(self._channel)
        self._address = advertised_address
        self._slots = slots
        self.worker_id = ""
        self._heartbeat_s = 2.0
        self.registered = asyncio.Event()

    async def run(self) -> None:
        """Keep registered and heartbeating, and deliver task events; runs until cancelled."""
        sender = asyncio.create_task(self._send_events(), name="task events")
        try:
            while True:
                await self._register()
                await self._heartbeat_until_unknown()
        finally:
            sender.cancel()

    async def _register(self) -> None:
        self.registered.clear()
        self._slots.cancel_all()
        while True:
            try:
                response = await self._stub.RegisterWorker(
                    control_plane_pb2.RegisterWorkerRequest(
                        address=self._address, pid=os.getpid(), slots=self._slots.slots
                    ),
                    timeout=RPC_TIMEOUT_S,
                )
            except grpc.aio.AioRpcError as error:
                log.info("controller not reachable yet (%s); retrying", error.code().name)
                await asyncio.sleep(RETRY_S)
                continue
            self.worker_id = response.worker_id
            self._heartbeat_s = response.heartbeat_interval_ms / 1000
            self.registered.set()
            log.info("registered as %s", self.worker_id)
            return

    async def _heartbeat_until_unknown(self) -> None:
        last_ok = time.monotonic()
        reached = True
        while True:
            # After a miss, look again soon: a restarted controller learns of this worker (and
            # can reschedule its jobs onto it) as soon as it is back, not a heartbeat later.
            await asyncio.sleep(self._heartbeat_s if reached else RETRY_S)
            reached = False
            try:
                response = await self._stub.Heartbeat(
                    control_plane_pb2.HeartbeatRequest(
                        worker_id=self.worker_id, running_task_ids=self._slots.running_task_ids()
                    ),
                    timeout=RPC_TIMEOUT_S,
                )
            except grpc.aio.AioRpcError as error:
                if time.monotonic() - last_ok > ORPHAN_AFTER_S and self._slots.running_task_ids():
                    log.warning("controller unreachable (%s); cancelling orphaned tasks", error.code().name)
                    self._slots.cancel_all()
                continue
            if not response.known:
                log.warning("the controller no longer knows worker %s; registering again", self.worker_id)
                return
            last_ok, reached = time.monotonic(), True

    async def _send_events(self) -> None:
        while True:
            report = await self._slots.events.get()
            await self.registered.wait()
            while True:
                try:
                    await self._deliver(report)
                    break
                except grpc.aio.AioRpcError as error:
                    log.info("cannot deliver task report (%s); retrying", error.code().name)
                    await asyncio.sleep(RETRY_S)

    async def _deliver(self, report: TaskReport) -> None:
        if isinstance(report, control_plane_pb2.ReportCheckpointRequest):
            report.worker_id = self.worker_id
            await self._stub.ReportCheckpoint(report, timeout=RPC_TIMEOUT_S)
        else:
            report.worker_id = self.worker_id
            await self._stub.ReportTaskEvent(
                control_plane_pb2.ReportTaskEventRequest(event=report), timeout=RPC_TIMEOUT_S
            )

    async def close(self) -> None:
        await self._channel.close()
