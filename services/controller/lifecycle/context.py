"""Everything a state handler of one job may use: the job, its plan, the workers, its events,
the tasks it has placed and its checkpoint coordinator. One context per supervised job."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field

import grpc
from opentelemetry import context as otel_context
from opentelemetry import trace

from services import tracing
from services.controller.checkpointing.coordinator import CheckpointCoordinator
from services.controller.lifecycle.events import JobEvent, StopRequested, WorkerLost
from services.controller.workers import WorkerHandle, WorkerRegistry
from services.store import JobRecord, Store
from weir.v1 import dataflow_pb2, worker_pb2

log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)

# Deadline of one controller -> worker call.
WORKER_RPC_TIMEOUT_S = 10.0


class WorkerGone(RuntimeError):
    """A worker a task was placed on was declared lost before the task could start there."""


@dataclass
class JobContext:
    job: JobRecord
    dataflow: dataflow_pb2.Dataflow
    store: Store
    workers: WorkerRegistry
    checkpoints: CheckpointCoordinator
    events: asyncio.Queue[JobEvent] = field(default_factory=asyncio.Queue)
    # worker_id -> the task specs placed on it.
    placements: dict[str, list[worker_pb2.TaskSpec]] = field(default_factory=dict)
    # task_id -> "running" | "finished" | "stopped" | "failed", as the workers report.
    task_states: dict[str, str] = field(default_factory=dict)
    # Set once a stop is requested; a state handler that sees it moves to Stopping.
    stop_request: StopRequested | None = None
    # Monotonic times of recent restarts (the restart budget) and why the last one happened.
    restarts: list[float] = field(default_factory=list)
    recovery_cause: str = ""
    # The epoch directory the tasks restore their state from when started; "" for none.
    restore_location: str = ""
    # The trace context the job was created in (the span of the CreatePipeline or RestartJob
    # that started it, captured by `supervise`): the job runs in a task of its own, which
    # would otherwise lose it, so its first scheduling is traced as a child of that span.
    trace_origin: otel_context.Context | None = None
    # Whether the job was scheduled before: later schedulings (recoveries, possibly hours on)
    # are traces of their own that link to the origin rather than grow its trace.
    scheduled_before: bool = False

    @property
    def task_ids(self) -> list[str]:
        return [spec.task_id for specs in self.placements.values() for spec in specs]

    async def next_event(self, timeout_s: float) -> JobEvent | None:
        """The next event within `timeout_s`, or None. Stop requests are also remembered."""
        try:
            event = await asyncio.wait_for(self.events.get(), timeout_s)
        except TimeoutError:
            return None
        if isinstance(event, StopRequested) and self.stop_request is None:
            self.stop_request = event
        return event

    def owns_lost_worker(self, event: WorkerLost) -> bool:
        return event.worker_id in self.placements

    async def start_tasks(self) -> None:
        """Ask each worker to start the tasks placed on it; raises on the first refusal.

        Traced as `start tasks`; each StartTasks call carries that span in its metadata, so the
        workers' StartTasks spans are its children."""
        attributes = {
            "job.id": self.job.id,
            "pipeline.id": self.job.pipeline_id,
            "task.count": len(self.task_ids),
            "worker.count": len(self.placements),
        }
        with tracer.start_as_current_span("start tasks", attributes=attributes) as span:
            # Every slot is claimed before the first call: other jobs schedule meanwhile.
            handles: dict[str, WorkerHandle] = {}
            for worker_id, specs in self.placements.items():
                handle = self.workers.get(worker_id)
                if handle is None or handle.lost:
                    raise WorkerGone(f"worker {worker_id} is gone")
                handles[worker_id] = handle
                for spec in specs:
                    handle.tasks.add((self.job.id, spec.task_id))
                    self.task_states[spec.task_id] = "starting"
            for worker_id, specs in self.placements.items():
                handle = handles[worker_id]
                # An event rather than a client span per call: the worker's server span is then
                # the direct child of `start tasks`, and which worker got what is still there.
                span.add_event("StartTasks", {"worker.id": worker_id, "task.count": len(specs)})
                await handle.stub.StartTasks(
                    worker_pb2.StartTasksRequest(
                        job_id=self.job.id,
                        dataflow=self.dataflow,
                        tasks=specs,
                        checkpoint_url=self.checkpoints.checkpoint_url,
                        restore_location=self.restore_location,
                    ),
                    timeout=WORKER_RPC_TIMEOUT_S,
                    metadata=tracing.outgoing_metadata(),
                )

    async def stop_tasks(self, mode: worker_pb2.StopTasksRequest.Mode.ValueType) -> None:
        """Ask every worker holding tasks of this job to stop them; unreachable workers are skipped
        (their tasks die with them, and the worker's own watchdog stops orphans)."""
        for worker_id in self.placements:
            handle = self.workers.get(worker_id)
            if handle is None or handle.lost:
                continue
            with contextlib.suppress(grpc.aio.AioRpcError):
                await handle.stub.StopTasks(
                    worker_pb2.StopTasksRequest(job_id=self.job.id, mode=mode), timeout=WORKER_RPC_TIMEOUT_S
                )

    def tasks_in(self, *states: str) -> list[str]:
        return [task_id for task_id, state in self.task_states.items() if state in states]

    def all_tasks_in(self, *states: str) -> bool:
        return bool(self.task_states) and all(s in states for s in self.task_states.values())


def monotonic_deadline(seconds: float) -> float:
    return time.monotonic() + seconds


def remaining(deadline: float) -> float:
    return max(0.0, deadline - time.monotonic())
