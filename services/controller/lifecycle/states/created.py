"""Created: the job is persisted and nothing runs yet. It moves on to be scheduled at once,
unless it was stopped before it ever started."""

from services.controller.lifecycle.context import JobContext
from services.controller.lifecycle.transitions import Transition


async def handle(ctx: JobContext) -> Transition:
    if ctx.stop_request is not None or not ctx.job.running_desired:
        return Transition("Stopping")
    return Transition("Scheduling")
