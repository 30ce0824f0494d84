"""The controller's entries in a job's log: what happened to the job and why, as the user reads
it from `GET /jobs/{id}/logs` beside the workers' entries.

Every lifecycle message the controller writes is worded here, with its level and structured
`details`, so the supervisor, the stop handler and the checkpoint coordinator only say which
event happened. Entries have no operator and no task (they concern the whole job).

A log entry is a record of an event, never a condition of it: when the store cannot take it,
the event still happens, and the failure goes to the controller's own log.

Messages quote text from workers (a failed task's error), so an entry's message and its text
details are cut to the bound the metrics service applies to the workers' own entries.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from services.api_errors import truncated
from services.clock import now_ms
from services.controller.checkpointing.restore_points import latest_restore_point
from services.ids import new_id
from services.metrics.limits import TelemetryLimits
from services.store import CheckpointRecord, JobLogRecord, JobLogStore, Store

if TYPE_CHECKING:
    from services.controller.lifecycle.context import JobContext

log = logging.getLogger(__name__)

# Characters of a message or text detail kept: the metrics service's default bound for the text
# of the workers' entries, so both kinds read alike (the marker counts within it).
MAX_TEXT_CHARS = TelemetryLimits().record_text_chars


def bounded_text(text: str) -> str:
    """`text` cut to MAX_TEXT_CHARS, marked when cut."""
    return truncated(text, MAX_TEXT_CHARS)


class JobLog:
    def __init__(self, store: Store, clock: Callable[[], float] = now_ms) -> None:
        self._logs = JobLogStore(store)
        self._clock = clock

    async def write(self, job_id: str, level: str, message: str, details: Mapping[str, Any]) -> None:
        now = self._clock()
        bounded = {
            key: bounded_text(value) if isinstance(value, str) else value for key, value in details.items()
        }
        entry = JobLogRecord(new_id("log"), job_id, now, level, bounded_text(message), details=bounded)
        try:
            await asyncio.to_thread(self._logs.append, [entry], [], now)
        except Exception:
            log.exception("job %s: could not write log entry %r", job_id, entry.message)

    async def transition(self, ctx: JobContext, from_state: str, failure_message: str | None) -> None:
        """The job entered `ctx.job.state` from `from_state`."""
        job_id, state = ctx.job.id, ctx.job.state
        moved = {"from_state": from_state, "state": state}
        if from_state == "Scheduling" and state != "Failed" and ctx.placements:
            await self._scheduled(ctx)
            if ctx.restore_location:
                await self._restored(ctx)
        match state:
            case "Scheduling":
                await self.write(job_id, "info", "scheduling", moved)
            case "Running":
                await self.write(job_id, "info", "running", {**moved, "tasks": len(ctx.task_ids)})
            case "Recovering":
                await self.write(
                    job_id,
                    "warn",
                    f"recovering because {ctx.recovery_cause}",
                    {**moved, "cause": ctx.recovery_cause},
                )
            case "Stopping" if ctx.stop_request is not None:
                mode, timeout_s = ctx.stop_request.mode, ctx.stop_request.timeout_s
                await self.write(
                    job_id,
                    "info",
                    f"stop requested (mode {mode}, timeout {timeout_s:g} s)",
                    {**moved, "mode": mode, "timeout_seconds": timeout_s},
                )
            case "Stopping":
                await self.write(job_id, "info", "stopping", moved)
            case "Stopped" | "Finished":
                await self.write(job_id, "info", state.lower(), moved)
            case "Failed":
                reason = failure_message or ctx.job.failure_message or "no reason given"
                await self.write(job_id, "error", f"failed: {reason}", {**moved, "failure_message": reason})

    async def _scheduled(self, ctx: JobContext) -> None:
        workers: dict[str, dict[str, Any]] = {}
        for worker_id, specs in ctx.placements.items():
            handle = ctx.workers.get(worker_id)
            workers[worker_id] = {
                "address": handle.address if handle else "",
                "tasks": [spec.task_id for spec in specs],
            }
        summary = ", ".join(
            f"{worker_id} ({_count(len(w['tasks']), 'task')})" for worker_id, w in workers.items()
        )
        await self.write(
            ctx.job.id,
            "info",
            f"scheduled {_count(len(ctx.task_ids), 'task')} on {_count(len(workers), 'worker')}: {summary}",
            {"workers": workers},
        )

    async def _restored(self, ctx: JobContext) -> None:
        # Scheduling kept only the location; the record behind it is the same restore point
        # (no checkpoint completes before the job runs).
        point = await asyncio.to_thread(latest_restore_point, ctx.store, ctx.job)
        details: dict[str, Any] = {"location": ctx.restore_location}
        name = ctx.restore_location
        if point is not None and point.location == ctx.restore_location:
            details |= {"checkpoint_id": point.id, "epoch": point.epoch}
            name = f"{point.epoch} ({point.id})"
        await self.write(ctx.job.id, "info", f"restarted from checkpoint {name}", details)

    async def stop_escalated(self, job_id: str, to_mode: str, after_s: float, reason: str) -> None:
        await self.write(
            job_id,
            "warn",
            f"stop escalated to {to_mode} after {after_s:.1f} s: {reason}",
            {"mode": to_mode, "after_seconds": after_s, "reason": reason},
        )

    async def stop_abandoned(self, job_id: str, pending_tasks: Sequence[str]) -> None:
        await self.write(
            job_id,
            "error",
            f"tasks {', '.join(pending_tasks)} did not stop; declaring the job stopped",
            {"tasks": list(pending_tasks)},
        )

    async def checkpoint_completed(self, checkpoint: CheckpointRecord) -> None:
        duration_ms = (checkpoint.finish_time or checkpoint.start_time) - checkpoint.start_time
        size = f"{checkpoint.size_bytes} bytes"
        await self.write(
            checkpoint.job_id,
            "info",
            f"checkpoint {checkpoint.epoch} completed in {duration_ms:.0f} ms ({size})",
            {
                "checkpoint_id": checkpoint.id,
                "epoch": checkpoint.epoch,
                "duration_ms": duration_ms,
                "size_bytes": checkpoint.size_bytes,
            },
        )

    async def checkpoint_failed(self, checkpoint: CheckpointRecord, reason: str) -> None:
        await self.write(
            checkpoint.job_id,
            "warn",
            f"checkpoint {checkpoint.epoch} failed: {reason}",
            {"checkpoint_id": checkpoint.id, "epoch": checkpoint.epoch, "reason": reason},
        )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
