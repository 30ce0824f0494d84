"""Drives jobs through the state machine: one asyncio task per unfinished job.

For each state the supervisor runs that state's handler, checks the handler's decision
against the transition table, persists it (compare-and-set on the state it left), and only
then lets the next handler act; each transition also goes to the job's log (`JobLog`).
Events for a job (task events, lost workers, stop requests) are queued on its context.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from services import tracing
from services.clock import now_ms
from services.controller.checkpointing.coordinator import CheckpointCoordinator
from services.controller.job_log import JobLog
from services.controller.lifecycle.context import JobContext
from services.controller.lifecycle.events import (
    JobEvent,
    StopRequested,
    TaskFailed,
    TaskFinished,
    TaskRunning,
    TaskStopped,
    WorkerLost,
)
from services.controller.lifecycle.states import HANDLERS
from services.controller.lifecycle.transitions import FINAL_STATES, check_transition
from services.controller.workers import WorkerHandle, WorkerRegistry
from services.store import JobRecord, Store, SubtaskStateSize
from weir.v1 import control_plane_pb2, dataflow_pb2

log = logging.getLogger(__name__)

TASK_EVENTS: dict[int, Callable[[control_plane_pb2.TaskEvent], JobEvent]] = {
    control_plane_pb2.TaskEvent.KIND_RUNNING: lambda e: TaskRunning(e.task_id),
    control_plane_pb2.TaskEvent.KIND_FINISHED: lambda e: TaskFinished(e.task_id),
    control_plane_pb2.TaskEvent.KIND_STOPPED: lambda e: TaskStopped(e.task_id),
    control_plane_pb2.TaskEvent.KIND_FAILED: lambda e: TaskFailed(e.task_id, e.message),
}


class JobSupervisors:
    """The supervisors of all unfinished jobs of this controller."""

    def __init__(self, store: Store, workers: WorkerRegistry, checkpoint_url: str = "") -> None:
        self._store = store
        self._workers = workers
        self._checkpoint_url = checkpoint_url
        self._job_log = JobLog(store)
        self._contexts: dict[str, JobContext] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        workers.on_worker_lost(self._worker_lost)

    def supervise(self, job: JobRecord, dataflow: dataflow_pb2.Dataflow) -> None:
        """Start driving `job` from its current state.

        The trace context of the caller (the span of the request that created the job, if any)
        is kept on the job's context for its first scheduling to continue that trace; the task
        driving the job runs without it, as it outlives the request by far."""
        checkpoints = CheckpointCoordinator(job, self._store, self._workers, self._checkpoint_url)
        ctx = JobContext(
            job=job,
            dataflow=dataflow,
            store=self._store,
            workers=self._workers,
            checkpoints=checkpoints,
            trace_origin=tracing.current_context(),
        )
        self._contexts[job.id] = ctx
        task = asyncio.create_task(
            self._drive(ctx), name=f"supervise {job.id}", context=tracing.without_trace_context()
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def is_supervised(self, job_id: str) -> bool:
        return job_id in self._contexts

    def request_stop(self, job_id: str, mode: str, timeout_s: float) -> bool:
        ctx = self._contexts.get(job_id)
        if ctx is None:
            return False
        ctx.events.put_nowait(StopRequested(mode, timeout_s))
        return True

    def task_event(self, event: control_plane_pb2.TaskEvent) -> None:
        ctx = self._contexts.get(event.job_id)
        convert = TASK_EVENTS.get(event.kind)
        if ctx is None or convert is None:
            log.debug("ignoring task event for job %s (not supervised)", event.job_id)
            return
        ctx.events.put_nowait(convert(event))
        if event.kind != control_plane_pb2.TaskEvent.KIND_RUNNING:
            ctx.checkpoints.task_ended(event.task_id)

    def checkpoint_report(self, report: control_plane_pb2.ReportCheckpointRequest) -> None:
        """A task acknowledged a checkpoint with the sizes of its operators' snapshots."""
        ctx = self._contexts.get(report.job_id)
        if ctx is None:
            log.debug("ignoring checkpoint report for job %s (not supervised)", report.job_id)
            return
        ctx.checkpoints.acknowledge(
            report.task_id,
            report.epoch,
            [SubtaskStateSize(s.operator_id, s.subtask_index, s.size_bytes) for s in report.states],
        )

    def _worker_lost(self, worker: WorkerHandle) -> None:
        for ctx in self._contexts.values():
            if worker.id in ctx.placements:
                ctx.events.put_nowait(WorkerLost(worker.id, worker.address))

    async def _drive(self, ctx: JobContext) -> None:
        try:
            while ctx.job.state not in FINAL_STATES:
                handler = HANDLERS.get(ctx.job.state)
                if handler is None:
                    # A state without a handler yet (Rescaling) fails the job loudly rather than hanging it.
                    await self._move(
                        ctx, "Failed", f"the controller cannot drive a job in state {ctx.job.state}"
                    )
                    break
                transition = await handler(ctx)
                check_transition(ctx.job.state, transition.to_state)
                await self._move(ctx, transition.to_state, transition.failure_message, transition.tasks)
            await self._workers.release_job(ctx.job.id)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.exception("supervisor of job %s crashed", ctx.job.id)
            await self._move(ctx, "Failed", f"internal error in the controller: {error}")
            await self._workers.release_job(ctx.job.id)
        finally:
            self._contexts.pop(ctx.job.id, None)
            await ctx.checkpoints.close()

    async def _move(
        self, ctx: JobContext, to_state: str, failure_message: str | None, tasks: int | None = None
    ) -> None:
        updated = await asyncio.to_thread(
            self._store.transition_job,
            ctx.job.id,
            to_state,
            now_ms(),
            from_states=[ctx.job.state],
            failure_message=failure_message,
            tasks=tasks,
        )
        if updated is None:
            raise RuntimeError(f"job {ctx.job.id} left state {ctx.job.state} behind the supervisor's back")
        reason = failure_message or (ctx.recovery_cause if to_state == "Recovering" else None)
        log.info("job %s: %s -> %s%s", ctx.job.id, ctx.job.state, to_state, f" ({reason})" if reason else "")
        from_state, ctx.job = ctx.job.state, updated
        await self._job_log.transition(ctx, from_state, failure_message)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
