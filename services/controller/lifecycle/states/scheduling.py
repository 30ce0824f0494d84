"""Scheduling: wait for enough free slots, place and wire the tasks (a new run, with its own
run id for the exchanges between them), start them restoring the job's latest restore point
(see checkpointing/restore_points.py), and wait until every task reports running. Never
stuck: past its deadlines the job fails and says why."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import grpc
from opentelemetry import context as otel_context
from opentelemetry import trace

from services import tracing
from services.controller.checkpointing.restore_points import latest_restore_point
from services.controller.lifecycle.context import JobContext, WorkerGone, monotonic_deadline, remaining
from services.controller.lifecycle.events import (
    StopRequested,
    TaskFailed,
    TaskFinished,
    TaskRunning,
    WorkerLost,
)
from services.controller.lifecycle.transitions import Transition
from services.controller.scheduler import NotEnoughSlots, free_slots, reachable_workers, schedule_run
from services.controller.workers import WorkerHandle
from services.planner import chain_operators
from services.worker.engine.wiring import WiringError
from weir.v1 import worker_pb2

log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)

SLOTS_DEADLINE_S = 60.0
STARTUP_DEADLINE_S = 60.0
# Refusals that pass: a worker died, or is still freeing the slots of tasks it was told to
# cancel (after a controller restart every worker cancels its tasks as it registers again).
_TRANSIENT_REFUSALS = (
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
)


async def handle(ctx: JobContext) -> Transition:
    """Schedule the job, traced as `schedule job`.

    The first scheduling continues the trace of the request that created the job (its span
    is the parent); a later one (after a recovery, possibly hours on) starts a trace of its
    own, linked to that origin, so that one job's lifetime is not one unbounded trace."""
    first = not ctx.scheduled_before
    ctx.scheduled_before = True
    with tracer.start_as_current_span(
        "schedule job",
        # An empty context, not None (the current one): a rescheduling must start a new trace.
        context=ctx.trace_origin if first else otel_context.Context(),
        links=None if first else tracing.links_to(ctx.trace_origin),
        attributes={"job.id": ctx.job.id, "pipeline.id": ctx.job.pipeline_id, "job.first_schedule": first},
    ) as span:
        transition = await _schedule(ctx)
        span.set_attribute("job.next_state", transition.to_state)
        if transition.to_state == "Failed":
            span.set_status(trace.StatusCode.ERROR, transition.failure_message)
        return transition


async def _schedule(ctx: JobContext) -> Transition:
    chains = chain_operators(ctx.dataflow)
    needed = sum(c.parallelism for c in chains)

    restore_point = await asyncio.to_thread(latest_restore_point, ctx.store, ctx.job)
    ctx.restore_location = restore_point.location if restore_point else ""

    # Jobs schedule side by side (all of them at once after a controller restart): the last
    # look at the free slots and their claim (schedule_run, then start_tasks before its first
    # await) must have no await between them, or two jobs could count the same slots.
    slots_deadline = monotonic_deadline(SLOTS_DEADLINE_S)
    while True:
        usable = await _usable_workers(ctx, needed)
        while (event := await ctx.next_event(0)) is not None:
            if isinstance(event, StopRequested):
                return Transition("Stopping")
        if ctx.stop_request is not None:
            return Transition("Stopping")
        if free_slots(usable) >= needed:
            break
        if remaining(slots_deadline) == 0:
            unreachable = len(ctx.workers.live()) - len(usable)
            return Transition(
                "Failed",
                failure_message=f"no slots: the job needs {needed} task slots, the live workers have "
                f"{free_slots(usable)} free after {SLOTS_DEADLINE_S:.0f} s"
                + (f" ({unreachable} more did not answer)" if unreachable else ""),
            )
        async with ctx.workers.changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ctx.workers.changed.wait(), min(1.0, remaining(slots_deadline)))

    if restore_point is not None:
        log.info(
            "job %s restores checkpoint %s from %s", ctx.job.id, restore_point.id, restore_point.location
        )
    try:
        ctx.placements = schedule_run(ctx.dataflow, chains, usable)
        await ctx.start_tasks()
    except (WorkerGone, grpc.aio.AioRpcError) as error:
        await ctx.stop_tasks(worker_pb2.StopTasksRequest.MODE_IMMEDIATE)
        message = error.details() if isinstance(error, grpc.aio.AioRpcError) else str(error)
        if isinstance(error, WorkerGone) or error.code() in _TRANSIENT_REFUSALS:
            # Not the job's fault (a worker died after it answered the health check in
            # _usable_workers, or its slots were not free yet): recovery retries with backoff,
            # within the restart budget.
            ctx.recovery_cause = f"could not start the job's tasks: {message}"
            return Transition("Recovering", tasks=needed)
        return Transition("Failed", failure_message=f"could not start the job's tasks: {message}")
    except (NotEnoughSlots, WiringError) as error:
        await ctx.stop_tasks(worker_pb2.StopTasksRequest.MODE_IMMEDIATE)
        return Transition("Failed", failure_message=f"could not start the job's tasks: {error}")

    startup_deadline = monotonic_deadline(STARTUP_DEADLINE_S)
    while not ctx.all_tasks_in("running", "finished"):
        event = await ctx.next_event(remaining(startup_deadline))
        match event:
            case None:
                await ctx.stop_tasks(worker_pb2.StopTasksRequest.MODE_IMMEDIATE)
                return Transition("Failed", failure_message="tasks did not start within the deadline")
            case TaskRunning(task_id):
                ctx.task_states[task_id] = "running"
            case TaskFinished(task_id):
                ctx.task_states[task_id] = "finished"
            case TaskFailed(task_id, message):
                ctx.recovery_cause = f"task {task_id} failed while starting: {message}"
                return Transition("Recovering", tasks=needed)
            case WorkerLost() if ctx.owns_lost_worker(event):
                ctx.recovery_cause = f"worker {event.address} was lost while starting"
                return Transition("Recovering", tasks=needed)
            case StopRequested():
                return Transition("Stopping", tasks=needed)
    if ctx.all_tasks_in("finished"):
        return Transition("Finished", tasks=needed)
    return Transition("Running", tasks=needed)


async def _usable_workers(ctx: JobContext, needed: int) -> list[WorkerHandle]:
    """The live workers that answer, when they could have enough free slots together.

    A worker that died moments ago is still live until its heartbeats are overdue, but the
    tasks of a job with exchanges fail at once when their peer dies, so a recovering job
    reaches Scheduling first; placing tasks on the dead worker would fail the start and cost
    a restart. Asking first (a health check, refused at once by a dead process) avoids it."""
    live = ctx.workers.live()
    if free_slots(live) < needed:
        return live
    return await reachable_workers(live)
