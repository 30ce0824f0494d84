"""Running: every task runs. The job finishes when all tasks finish (bounded sources), fails
recovers when a task fails or its worker is lost, and stops when asked."""

from __future__ import annotations

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
                return Transition("Recovering")
            case WorkerLost() if ctx.owns_lost_worker(event):
                ctx.recovery_cause = f"worker {event.address} was lost"
                return Transition("Recovering")
            case StopRequested():
                return Transition("Stopping")
