"""Running: every task runs, and a checkpoint is taken every `checkpoint_interval_ms` of the
pipeline. The job finishes when all tasks finish (bounded sources), recovers when a task
fails or its worker is lost (the checkpoint in flight fails with it), and stops when asked
(a checkpoint in flight goes on: a stop in `checkpoint` mode takes its final one after it)."""

from __future__ import annotations

import asyncio
import contextlib

from services.controller.lifecycle.context import JobContext
from services.controller.lifecycle.events import (
    StopRequested,
    TaskFailed,
    TaskFinished,
    TaskRunning,
    WorkerLost,
)
from services.controller.lifecycle.transitions import Transition


async def handle(ctx: JobContext) -> Transition:
    if ctx.stop_request is not None:
        return Transition("Stopping")
    periodic = asyncio.create_task(_checkpoint_periodically(ctx), name=f"checkpoints of {ctx.job.id}")
    try:
        return await _follow_tasks(ctx)
    finally:
        periodic.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await periodic


async def _follow_tasks(ctx: JobContext) -> Transition:
    while True:
        event = await ctx.next_event(timeout_s=3600)
        match event:
            case TaskRunning(task_id):
                ctx.task_states[task_id] = "running"
            case TaskFinished(task_id):
                ctx.task_states[task_id] = "finished"
                if ctx.all_tasks_in("finished"):
                    return Transition("Finished")
            case TaskFailed(task_id, message):
                ctx.recovery_cause = f"task {task_id} failed: {message}"
                ctx.checkpoints.abort(f"the job is recovering: {ctx.recovery_cause}")
                return Transition("Recovering")
            case WorkerLost() if ctx.owns_lost_worker(event):
                ctx.recovery_cause = f"worker {event.address} was lost"
                ctx.checkpoints.abort(f"the job is recovering: {ctx.recovery_cause}")
                return Transition("Recovering")
            case StopRequested():
                return Transition("Stopping")


async def _checkpoint_periodically(ctx: JobContext) -> None:
    """One checkpoint per interval (measured from the end of the previous one, so a slow
    checkpoint never queues the next), while every task runs. Once a task has finished, no
    more are taken: its state would be missing from them."""
    coordinator = ctx.checkpoints
    if not coordinator.enabled:
        return
    await coordinator.load()
    while True:
        await asyncio.sleep(coordinator.interval_s)
        if not ctx.all_tasks_in("running"):
            return
        await coordinator.checkpoint(ctx.placements, ctx.tasks_in("running"))
