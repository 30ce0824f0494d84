"""The checkpoint coordinator of one job, after Flink's CheckpointCoordinator.

A checkpoint of epoch N: the coordinator persists it as in_progress (before acting), asks
every worker holding tasks of the job to trigger it (sources inject barrier N, the other
tasks align it), and waits until every task that was running acknowledged it with its
snapshot sizes (ControlPlaneService.ReportCheckpoint). Then it persists it as completed with
those sizes, tells the workers to commit it (sinks make epoch <= N output visible: the second
phase of two-phase commit), and applies retention. It fails — persisted with the reason, its
files deleted — when it times out, a trigger cannot be delivered, a task ends before
acknowledging, or the job stops running (`abort`).

At most one checkpoint is in flight: each attempt holds the coordinator's lock in its own
asyncio task, so a caller that gives up waiting (a cancelled periodic loop, a stop past its
timeout) never leaves a second attempt free to start beside one still running.

Epochs grow over the job's whole lineage: a job restored from epoch N of another job starts
at N + 1, and a recovered or resumed job continues after the highest epoch it has used.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import grpc

from services.clock import now_ms
from services.controller.checkpointing.retention import delete_checkpoint_files, expire_checkpoints
from services.controller.job_log import JobLog
from services.controller.workers import WorkerRegistry
from services.ids import new_id
from services.store import (
    DEFAULT_CHECKPOINTS_RETAINED,
    CheckpointRecord,
    JobRecord,
    Store,
    SubtaskStateSize,
)
from weir.v1 import worker_pb2

log = logging.getLogger(__name__)

BACKEND = "filesystem"
DEFAULT_TIMEOUT_S = 60.0
# Deadline of one trigger or commit call to a worker.
WORKER_RPC_TIMEOUT_S = 10.0

Placements = Mapping[str, Sequence[worker_pb2.TaskSpec]]


def epoch_location(checkpoint_url: str, job_id: str, epoch: int) -> str:
    """The directory of one epoch of a job's checkpoints (the engine's shared contract)."""
    return f"{checkpoint_url.rstrip('/')}/{job_id}/epoch_{epoch}"


@dataclass
class _InFlight:
    record: CheckpointRecord
    awaiting: set[str]
    states: list[SubtaskStateSize] = field(default_factory=list)
    # Resolved with None once every task acknowledged, or with why the checkpoint failed.
    outcome: asyncio.Future[str | None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )

    def resolve(self, failure: str | None) -> None:
        if not self.outcome.done():
            self.outcome.set_result(failure)


class CheckpointCoordinator:
    def __init__(
        self,
        job: JobRecord,
        store: Store,
        workers: WorkerRegistry,
        checkpoint_url: str,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self._job = job
        self._store = store
        self._job_log = JobLog(store)
        self._workers = workers
        self.checkpoint_url = checkpoint_url
        self._timeout_s = timeout_s
        self._lock = asyncio.Lock()
        self._in_flight: _InFlight | None = None
        self._last_epoch: int | None = None
        self._attempts: set[asyncio.Task[CheckpointRecord | None]] = set()
        # Counts `abort` calls: an attempt still queued behind the lock when one happens is dropped.
        self._aborts = 0
        self.interval_s = 0.0
        self._retained = DEFAULT_CHECKPOINTS_RETAINED

    @property
    def enabled(self) -> bool:
        return bool(self.checkpoint_url)

    async def load(self) -> None:
        """Read the pipeline's checkpoint settings and where the job's epochs continue from."""
        pipeline = await asyncio.to_thread(self._store.get_pipeline, self._job.pipeline_id)
        if pipeline is not None:
            self.interval_s = pipeline.checkpoint_interval_ms / 1000
            self._retained = pipeline.checkpoints_retained
        last = await asyncio.to_thread(self._store.last_checkpoint_epoch, self._job.id)
        if self._job.restore_checkpoint_id:
            restored = await asyncio.to_thread(self._store.get_checkpoint, self._job.restore_checkpoint_id)
            if restored is not None:
                last = max(last, restored.epoch)
        self._last_epoch = last

    async def checkpoint(self, placements: Placements, task_ids: Sequence[str]) -> CheckpointRecord | None:
        """Take one checkpoint of `task_ids` (after the one in flight, if any): the completed
        record, or None if it failed. Cancelling the caller does not cancel the attempt."""
        attempt = asyncio.create_task(self._take(dict(placements), list(task_ids), self._aborts))
        self._attempts.add(attempt)
        attempt.add_done_callback(self._attempts.discard)
        return await asyncio.shield(attempt)

    def acknowledge(self, task_id: str, epoch: int, states: Sequence[SubtaskStateSize]) -> None:
        """A task's snapshot for `epoch` is written (a late or unknown acknowledgement is ignored)."""
        in_flight = self._in_flight
        if in_flight is None or in_flight.record.epoch != epoch or task_id not in in_flight.awaiting:
            log.debug("job %s: ignoring acknowledgement of epoch %d by %s", self._job.id, epoch, task_id)
            return
        in_flight.awaiting.discard(task_id)
        in_flight.states.extend(states)
        if not in_flight.awaiting:
            in_flight.resolve(None)

    def task_ended(self, task_id: str) -> None:
        """A task finished, stopped or failed: it will not acknowledge the checkpoint in flight.
        Its acknowledgement, if it sent one, arrived before this (one ordered stream per worker)."""
        in_flight = self._in_flight
        if in_flight is not None and task_id in in_flight.awaiting:
            in_flight.resolve(f"task {task_id} ended before acknowledging epoch {in_flight.record.epoch}")

    def abort(self, reason: str) -> None:
        """Fail the checkpoint in flight, if any, and drop those queued behind it: the job
        stopped running the way they need."""
        self._aborts += 1
        if self._in_flight is not None:
            self._in_flight.resolve(reason)

    async def close(self) -> None:
        """Abort and wait for what is in flight (the job is over, or the controller stops)."""
        self.abort("the job's supervisor stopped")
        await asyncio.gather(*self._attempts, return_exceptions=True)

    async def _take(
        self, placements: dict[str, list[worker_pb2.TaskSpec]], task_ids: list[str], aborts: int
    ) -> CheckpointRecord | None:
        async with self._lock:
            if not task_ids or aborts != self._aborts:
                return None
            if self._last_epoch is None:
                await self.load()
            assert self._last_epoch is not None
            self._last_epoch += 1
            epoch = self._last_epoch
            record = await asyncio.to_thread(
                self._store.create_checkpoint,
                new_id("chk"),
                self._job.id,
                epoch,
                now_ms(),
                backend=BACKEND,
                location=epoch_location(self.checkpoint_url, self._job.id, epoch),
            )
            in_flight = _InFlight(record, set(task_ids))
            self._in_flight = in_flight
            try:
                failure = await self._trigger(placements, epoch)
                if failure is None:
                    try:
                        failure = await asyncio.wait_for(asyncio.shield(in_flight.outcome), self._timeout_s)
                    except TimeoutError:
                        failure = (
                            f"timed out after {self._timeout_s:.0f} s waiting for "
                            f"{', '.join(sorted(in_flight.awaiting))}"
                        )
            finally:
                self._in_flight = None
            if failure is not None:
                await self._fail(record, failure)
                return None
            completed = await asyncio.to_thread(
                self._store.complete_checkpoint, record.id, now_ms(), in_flight.states
            )
            if completed is None:
                return None
            log.info(
                "job %s: checkpoint %s (epoch %d) completed, %d bytes",
                self._job.id,
                completed.id,
                epoch,
                completed.size_bytes,
            )
            await self._job_log.checkpoint_completed(completed)
            await self._commit(placements, epoch)
            await expire_checkpoints(self._store, self._job.id, self._retained)
            return completed

    async def _trigger(self, placements: dict[str, list[worker_pb2.TaskSpec]], epoch: int) -> str | None:
        request = worker_pb2.TriggerCheckpointRequest(job_id=self._job.id, epoch=epoch)
        for worker_id in placements:
            handle = self._workers.get(worker_id)
            if handle is None or handle.lost:
                return f"worker {worker_id} is gone"
            try:
                await handle.stub.TriggerCheckpoint(request, timeout=WORKER_RPC_TIMEOUT_S)
            except grpc.aio.AioRpcError as error:
                return f"cannot trigger it on worker {handle.address}: {error.details()}"
        return None

    async def _commit(self, placements: dict[str, list[worker_pb2.TaskSpec]], epoch: int) -> None:
        """Best effort: a worker that misses a commit is recovered from this checkpoint, whose
        snapshot holds what its sinks had staged, so the commit happens on restore instead."""
        request = worker_pb2.CommitCheckpointRequest(job_id=self._job.id, epoch=epoch)
        for worker_id in placements:
            handle = self._workers.get(worker_id)
            if handle is None or handle.lost:
                continue
            with contextlib.suppress(grpc.aio.AioRpcError):
                await handle.stub.CommitCheckpoint(request, timeout=WORKER_RPC_TIMEOUT_S)

    async def _fail(self, record: CheckpointRecord, reason: str) -> None:
        log.warning(
            "job %s: checkpoint %s (epoch %d) failed: %s", self._job.id, record.id, record.epoch, reason
        )
        await asyncio.to_thread(
            self._store.fail_checkpoints, self._job.id, now_ms(), reason, checkpoint_id=record.id
        )
        await self._job_log.checkpoint_failed(record, reason)
        await delete_checkpoint_files([record])
