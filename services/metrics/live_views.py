"""The live views beyond the spec: `WatchJob` (a job's state changes and a metrics snapshot
about every second) and `TailJobLogs` (a job's log entries as they are stored).

Why the metrics service serves both, not the controller: a watch is mostly metrics (one
snapshot a second, a state change now and then), and those are in this process; the job's
state is in the controller's store, which this service reads already (its job catalog), and
which the controller writes on every transition before acting on it. Served here, a watcher
costs a store read a few times a second and no RPC; served by the controller, each watcher
would cost the control plane a metrics call a second. Log tails read the store's job logs,
which this service writes, through the very query `ListJobLogs` answers with.

Both poll the store rather than being notified: the store is the one place every writer
(controller, this service, a restarted one of either) leaves its changes, whatever the
deployment (SQLite under `weir up`, PostgreSQL across hosts). Polls are cheap, indexed reads.

Log entries are stored late: a worker's entries arrive with its once-a-second telemetry
report, after a reconnect even later. So a tail does not follow a timestamp cursor (a late
entry would fall behind it); it re-reads a lookback window and skips the ids it has sent.

Bounded: at most `max_streams` live streams at once (RESOURCE_EXHAUSTED beyond), and a tail
remembers only the ids inside its lookback window.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import grpc

from services.api_errors import MAX_PAGE_SIZE, ApiError, declared_enum_value, not_found
from services.clock import now_ms
from services.metrics.catalog import JobCatalog
from services.metrics.queries import MetricsQueries, require_finite_time, require_job_id
from services.store import JobRecord
from weir.v1 import jobs_pb2, logs_pb2, metrics_pb2

log = logging.getLogger(__name__)

# The controller's final states (services/controller/lifecycle/transitions.py): once there, a
# job never changes again. Repeated, not imported: the metrics service does not load the
# controller's code, and these three words are the API's.
FINAL_STATES = frozenset({"Stopped", "Failed", "Finished"})

T = TypeVar("T")


@dataclass(frozen=True)
class LiveViewTiming:
    """How often live views look; tests shorten them, production keeps the defaults."""

    # How often a watch reads the job's state: a state change reaches the watcher this late.
    state_poll_s: float = 0.25
    # The spec's "a metrics snapshot every second".
    metrics_interval_s: float = 1.0
    # How often a tail reads the job's log entries.
    tail_poll_s: float = 0.5
    # How late (by its timestamp) an entry may be stored and still reach a tail.
    tail_lookback_ms: float = 30_000.0
    # After the job reached a final state, a tail reads this long more for the last entries
    # (the workers' last reports, the controller's "stopped"), then ends.
    tail_final_grace_s: float = 3.0


def _job_state(job: JobRecord) -> metrics_pb2.JobStateChange:
    change = metrics_pb2.JobStateChange(state=jobs_pb2.Job.State.Value(job.state), run_id=job.run_id)
    if job.start_time is not None:
        change.start_time = job.start_time
    if job.finish_time is not None:
        change.finish_time = job.finish_time
    if job.failure_message is not None:
        change.failure_message = job.failure_message
    return change


class LiveViews:
    def __init__(
        self,
        queries: MetricsQueries,
        jobs: JobCatalog,
        timing: LiveViewTiming | None = None,
        max_streams: int = 256,
    ) -> None:
        self._queries = queries
        self._jobs = jobs
        self._timing = timing or LiveViewTiming()
        self._max_streams = max_streams
        self._streams = 0

    @property
    def open_streams(self) -> int:
        """Live streams being served now (for tests: a cancelled stream must not linger)."""
        return self._streams

    @contextlib.contextmanager
    def _stream_slot(self) -> Iterator[None]:
        if self._streams >= self._max_streams:
            raise ApiError(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"at most {self._max_streams} live streams at once: try again later",
            )
        self._streams += 1
        try:
            yield
        finally:
            self._streams -= 1

    async def _job(self, job_id: str) -> JobRecord:
        require_job_id(job_id)
        job = await self._jobs.get_job(job_id)
        if job is None:
            raise not_found(f"job {job_id} not found")
        return job

    async def watch_job(self, job_id: str) -> AsyncIterator[metrics_pb2.JobWatchEvent]:
        """The job's state now, then its changes and a metrics snapshot each interval; after
        a final state, one last snapshot and the end."""
        with self._stream_slot():
            job = await self._job(job_id)
            state = _job_state(job)
            yield metrics_pb2.JobWatchEvent(timestamp=now_ms(), state=state)
            next_snapshot = time.monotonic()
            while True:
                if job.state in FINAL_STATES or time.monotonic() >= next_snapshot:
                    metrics = await self._queries.job_metrics(job_id)
                    yield metrics_pb2.JobWatchEvent(timestamp=now_ms(), metrics=metrics)
                    if job.state in FINAL_STATES:
                        return
                    next_snapshot = time.monotonic() + self._timing.metrics_interval_s
                wait_s = min(self._timing.state_poll_s, next_snapshot - time.monotonic())
                await asyncio.sleep(max(wait_s, 0.0))
                job = await self._job(job_id)
                latest = _job_state(job)
                if latest != state:
                    state = latest
                    yield metrics_pb2.JobWatchEvent(timestamp=now_ms(), state=state)

    async def tail_logs(
        self,
        request: logs_pb2.TailJobLogsRequest,
        started: Callable[[], Awaitable[None]] | None = None,
    ) -> AsyncIterator[logs_pb2.LogEntry]:
        """Entries as they are stored, oldest first within each read; see the module doc.
        `started` is awaited once the request is found valid: a servicer sends its response
        headers then, since a quiet tail may have no entry to send for long."""
        declared_enum_value(logs_pb2.LogEntry.Level, request.level, "level")
        requested_since = request.since if request.HasField("since") else None
        if requested_since is not None:
            require_finite_time("since", requested_since)
        with self._stream_slot():
            job = await self._job(request.job_id)
            timing = self._timing
            sent: dict[str, float] = {}  # id -> timestamp, of entries inside the lookback window
            floor = requested_since if requested_since is not None else now_ms() - timing.tail_lookback_ms
            if requested_since is None:
                # Only what arrives from now on: what is stored already counts as sent.
                sent.update((e.id, e.timestamp) for e in await self._entries_since(request, floor))
            if started is not None:
                await started()
            final_since: float | None = None
            while True:
                for entry in reversed(await self._entries_since(request, floor)):
                    if entry.id not in sent:
                        sent[entry.id] = entry.timestamp
                        yield entry
                if final_since is not None and time.monotonic() - final_since >= timing.tail_final_grace_s:
                    return
                await asyncio.sleep(timing.tail_poll_s)
                floor = now_ms() - timing.tail_lookback_ms
                if requested_since is not None:
                    floor = max(floor, requested_since)
                for entry_id in [i for i, ts in sent.items() if ts < floor]:
                    del sent[entry_id]
                job = await self._job(request.job_id)
                if final_since is None and job.state in FINAL_STATES:
                    final_since = time.monotonic()

    async def _entries_since(
        self, request: logs_pb2.TailJobLogsRequest, since: float
    ) -> list[logs_pb2.LogEntry]:
        """Every matching entry from `since` on, newest first, read page by page through
        `ListJobLogs`'s query. A page ends inside a run of equal timestamps, so the next
        page reaches up to and including the last page's oldest timestamp, and repeats are
        dropped by id."""
        entries: dict[str, logs_pb2.LogEntry] = {}
        until: float | None = None
        while True:
            page = await self._queries.job_logs(
                logs_pb2.ListJobLogsRequest(
                    job_id=request.job_id,
                    level=request.level,
                    operator_id=request.operator_id,
                    since=since,
                    until=until,
                    limit=MAX_PAGE_SIZE,
                )
            )
            fresh = [entry for entry in page.data if entry.id not in entries]
            entries.update((entry.id, entry) for entry in fresh)
            if not page.has_more or not fresh:
                break
            until = math.nextafter(page.data[-1].timestamp, math.inf)
        return sorted(entries.values(), key=lambda e: (e.timestamp, e.id), reverse=True)


async def serve_stream(
    events: AsyncIterator[T], context: grpc.aio.ServicerContext, name: str
) -> AsyncIterator[T]:
    """A server-streaming servicer's body: `ApiError` becomes its status, an unexpected error
    INTERNAL (logged); the unary methods' `api_errors.rpc`, for streams."""
    try:
        async for event in events:
            yield event
    except ApiError as error:
        await context.abort(error.code, error.message)
    except grpc.aio.AbortError:
        raise
    except Exception:
        log.exception("unexpected error in %s", name)
        await context.abort(grpc.StatusCode.INTERNAL, f"internal error in {name}")
