"""Recovering: a task failed, its worker was lost, or the controller restarted under a running
job. Whatever still runs of the job is cancelled, and after a backoff the job is scheduled
again — until the restart budget is spent, then it fails and says why.

Scheduling restarts every task from the job's last completed checkpoint (sources from its
offsets, sinks with what they had staged), so output committed once is not committed again."""

from __future__ import annotations

import asyncio
import time

from services.controller.lifecycle.context import JobContext
from services.controller.lifecycle.transitions import Transition
from weir.v1 import worker_pb2

MAX_RESTARTS = 10
RESTART_WINDOW_S = 600.0
BACKOFF_BASE_S = 0.5
BACKOFF_MAX_S = 30.0


async def handle(ctx: JobContext) -> Transition:
    now = time.monotonic()
    ctx.restarts = [t for t in ctx.restarts if now - t < RESTART_WINDOW_S]
    if len(ctx.restarts) >= MAX_RESTARTS:
        return Transition(
            "Failed",
            failure_message=f"gave up after {MAX_RESTARTS} restarts within "
            f"{RESTART_WINDOW_S / 60:.0f} minutes; last cause: {ctx.recovery_cause}",
        )
    ctx.restarts.append(now)
    await ctx.stop_tasks(worker_pb2.StopTasksRequest.MODE_IMMEDIATE)
    await ctx.workers.release_job(ctx.job.id)
    ctx.placements.clear()
    ctx.task_states.clear()
    if ctx.stop_request is not None:
        return Transition("Stopping")
    await asyncio.sleep(min(BACKOFF_MAX_S, BACKOFF_BASE_S * 2 ** (len(ctx.restarts) - 1)))
    return Transition("Scheduling")
