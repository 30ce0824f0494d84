"""Stopping: tell the tasks to stop and wait for them, escalating when they take too long.

`checkpoint` takes a final checkpoint (after the one in flight, if any), which commits the
sinks' output up to its barrier, then cancels the tasks: what they produced after the
barrier stays uncommitted, and a restart from that checkpoint produces it again, exactly
once. When the final checkpoint cannot be taken (a task already finished, so its state
would be missing) or fails within the timeout, the stop goes on as `immediate` and the log
says so. `immediate` asks the tasks to stop gracefully (sources stop, in-flight data
drains); `force` cancels them. Past the request's timeout the stop escalates to
cancelling; past a second timeout the job is declared stopped anyway, since a worker that
cannot stop its tasks is treated as lost."""

from __future__ import annotations

import asyncio
import logging

from services.controller.job_log import JobLog
from services.controller.lifecycle.context import JobContext, monotonic_deadline, remaining
from services.controller.lifecycle.events import TaskFailed, TaskFinished, TaskStopped, WorkerLost
from services.controller.lifecycle.transitions import Transition
from weir.v1 import worker_pb2

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 30.0
ESCALATED_TIMEOUT_S = 10.0


async def handle(ctx: JobContext) -> Transition:
    request = ctx.stop_request
    mode = request.mode if request else "immediate"
    timeout_s = request.timeout_s if request else DEFAULT_TIMEOUT_S
    pending = {t for t, s in ctx.task_states.items() if s not in ("finished", "stopped", "failed")}
    if not pending:
        return Transition("Stopped")

    deadline = monotonic_deadline(timeout_s)
    if mode == "checkpoint":
        if await _final_checkpoint(ctx, remaining(deadline)):
            await ctx.stop_tasks(worker_pb2.StopTasksRequest.MODE_IMMEDIATE)
            if not await _wait_stopped(ctx, pending, max(remaining(deadline), ESCALATED_TIMEOUT_S)):
                await _abandon(ctx, pending)
            return Transition("Stopped")
        await JobLog(ctx.store).stop_escalated(
            ctx.job.id, "immediate", timeout_s - remaining(deadline), "no final checkpoint could be taken"
        )
        mode = "immediate"
        timeout_s = max(remaining(deadline), 1.0)

    graceful = mode == "immediate"
    await ctx.stop_tasks(
        worker_pb2.StopTasksRequest.MODE_GRACEFUL if graceful else worker_pb2.StopTasksRequest.MODE_IMMEDIATE
    )
    if await _wait_stopped(ctx, pending, timeout_s):
        return Transition("Stopped")
    if graceful:
        log.warning("job %s: tasks did not stop within %.0f s; cancelling them", ctx.job.id, timeout_s)
        await JobLog(ctx.store).stop_escalated(ctx.job.id, "force", timeout_s, "the tasks did not stop")
        await ctx.stop_tasks(worker_pb2.StopTasksRequest.MODE_IMMEDIATE)
        if await _wait_stopped(ctx, pending, ESCALATED_TIMEOUT_S):
            return Transition("Stopped")
    await _abandon(ctx, pending)
    return Transition("Stopped")


async def _abandon(ctx: JobContext, pending: set[str]) -> None:
    log.error("job %s: tasks %s did not stop; declaring the job stopped", ctx.job.id, sorted(pending))
    await JobLog(ctx.store).stop_abandoned(ctx.job.id, sorted(pending))


async def _final_checkpoint(ctx: JobContext, timeout_s: float) -> bool:
    """Take the stop's final checkpoint within `timeout_s`; whether it completed."""
    if not ctx.checkpoints.enabled:
        return False
    if not ctx.all_tasks_in("running"):
        not_running = sorted(t for t, s in ctx.task_states.items() if s != "running")
        log.warning(
            "job %s: no final checkpoint, tasks %s are not running; stopping as 'immediate'",
            ctx.job.id,
            not_running,
        )
        return False
    try:
        final = await asyncio.wait_for(
            ctx.checkpoints.checkpoint(ctx.placements, ctx.tasks_in("running")), timeout_s
        )
    except TimeoutError:
        ctx.checkpoints.abort(f"the stop's timeout of {timeout_s:.0f} s passed")
        final = None
    if final is None:
        log.warning("job %s: the final checkpoint failed; stopping as 'immediate'", ctx.job.id)
        return False
    log.info("job %s: final checkpoint %s (epoch %d) taken", ctx.job.id, final.id, final.epoch)
    return True


async def _wait_stopped(ctx: JobContext, pending: set[str], timeout_s: float) -> bool:
    deadline = monotonic_deadline(timeout_s)
    while pending:
        event = await ctx.next_event(remaining(deadline))
        match event:
            case None:
                return False
            case TaskStopped(task_id) | TaskFinished(task_id) | TaskFailed(task_id, _):
                ctx.task_states[task_id] = "stopped"
                pending.discard(task_id)
            case WorkerLost() if ctx.owns_lost_worker(event):
                for spec in ctx.placements.get(event.worker_id, []):
                    pending.discard(spec.task_id)
    return True
