"""The controller's view of the worker processes: who is alive, where, with how many free slots.

Workers are not persisted: a worker that the controller does not know (after a controller
restart, or after being declared lost) is told so in its next heartbeat and registers
again. A worker that misses heartbeats for `lost_after_ms` is declared lost, and every job
with a task on it is told.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import grpc

from services.clock import now_ms
from services.ids import new_id
from services.serving import insecure_channel
from weir.v1 import cluster_pb2, worker_pb2_grpc

log = logging.getLogger(__name__)

HEARTBEAT_INTERVAL_MS = 2_000
LOST_AFTER_MS = 10_000


@dataclass
class WorkerHandle:
    """A registered worker, its channel, and the slots the scheduler has given out on it."""

    id: str
    address: str
    pid: int
    slots: int
    last_heartbeat: float
    channel: grpc.aio.Channel
    stub: worker_pb2_grpc.WorkerServiceStub
    # (job_id, task_id) of every task placed here: task ids repeat from job to job.
    tasks: set[tuple[str, str]] = field(default_factory=set)
    lost: bool = False

    @property
    def free_slots(self) -> int:
        return 0 if self.lost else max(0, self.slots - len(self.tasks))

    def to_proto(self) -> cluster_pb2.Worker:
        return cluster_pb2.Worker(
            id=self.id,
            address=self.address,
            pid=self.pid,
            slots=self.slots,
            free_slots=self.free_slots,
            state=cluster_pb2.Worker.Lost if self.lost else cluster_pb2.Worker.Ready,
            last_heartbeat=self.last_heartbeat,
        )


WorkerLostListener = Callable[[WorkerHandle], None]


class WorkerRegistry:
    """Registered workers and their slots; detects lost workers."""

    def __init__(self, lost_after_ms: int = LOST_AFTER_MS) -> None:
        self._workers: dict[str, WorkerHandle] = {}
        self._lost_after_ms = lost_after_ms
        self._listeners: list[WorkerLostListener] = []
        self.changed = asyncio.Condition()

    def on_worker_lost(self, listener: WorkerLostListener) -> None:
        self._listeners.append(listener)

    async def register(self, address: str, pid: int, slots: int) -> WorkerHandle:
        # Only one process can listen at an address: a live worker registered there before this one
        # has died (weir up restarts a dead worker on its old port). Declaring it lost now starts
        # the recovery of its jobs at once rather than after the heartbeat deadline.
        for replaced in [w for w in self._workers.values() if w.address == address and not w.lost]:
            log.warning("worker %s at %s was replaced by a new registration", replaced.id, address)
            await self._declare_lost(replaced, reason="replaced by a new worker at its address")
        channel = insecure_channel(address)
        handle = WorkerHandle(
            id=new_id("wrk"),
            address=address,
            pid=pid,
            slots=slots,
            last_heartbeat=now_ms(),
            channel=channel,
            stub=worker_pb2_grpc.WorkerServiceStub(channel),
        )
        self._workers[handle.id] = handle
        log.info("worker %s registered at %s with %d slots", handle.id, address, slots)
        await self._notify()
        return handle

    def heartbeat(self, worker_id: str) -> bool:
        """Record a heartbeat; False if the worker is unknown or was declared lost."""
        handle = self._workers.get(worker_id)
        if handle is None or handle.lost:
            return False
        handle.last_heartbeat = now_ms()
        return True

    def get(self, worker_id: str) -> WorkerHandle | None:
        return self._workers.get(worker_id)

    def live(self) -> list[WorkerHandle]:
        return [w for w in self._workers.values() if not w.lost]

    def all(self) -> list[WorkerHandle]:
        return list(self._workers.values())

    def total_free_slots(self) -> int:
        return sum(w.free_slots for w in self.live())

    async def release_job(self, job_id: str) -> None:
        """Give back every slot the job holds on any worker."""
        for handle in self._workers.values():
            handle.tasks = {task for task in handle.tasks if task[0] != job_id}
        await self._notify()

    async def watch(self, check_interval_s: float = 1.0) -> None:
        """Declare workers lost when their heartbeats stop; runs until cancelled."""
        while True:
            await asyncio.sleep(check_interval_s)
            deadline = now_ms() - self._lost_after_ms
            for handle in list(self._workers.values()):
                if not handle.lost and handle.last_heartbeat < deadline:
                    await self._declare_lost(handle, reason="missed heartbeats")

    async def _declare_lost(self, handle: WorkerHandle, reason: str) -> None:
        handle.lost = True
        log.warning("worker %s at %s declared lost: %s", handle.id, handle.address, reason)
        for listener in self._listeners:
            listener(handle)
        handle.tasks.clear()
        # Lost workers are kept (and listed) for a while so users can see what happened.
        await self._notify()

    async def close(self) -> None:
        for handle in self._workers.values():
            with contextlib.suppress(Exception):
                await handle.channel.close()

    async def _notify(self) -> None:
        async with self.changed:
            self.changed.notify_all()
