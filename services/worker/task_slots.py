"""The tasks a worker runs, by job, and the events they raise.

Engine tasks run in their own threads and call their listener from there; the listener
hands each event — lifecycle changes and checkpoint acknowledgements alike — to the
worker's event loop, where one queue sends them to the controller in order: a task's
acknowledgement of a checkpoint always arrives before its end.

Tasks of one job on different workers exchange data through this worker's exchange
registry (served to other workers by its ShuffleService). Cancelling a job here also
closes its inboxes, so that senders of the dead run — local, or streams from other
workers — are released at once instead of blocking on channels nobody reads.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from services.clock import now_ms
from services.worker.engine import Task, TelemetryBuffer
from services.worker.engine.checkpointing import SubtaskState
from services.worker.engine.exchange_channel import PROCESS_EXCHANGES, ExchangeRegistry
from weir.v1 import control_plane_pb2, dataflow_pb2, worker_pb2

log = logging.getLogger(__name__)

Kind = control_plane_pb2.TaskEvent
# What the worker tells the controller about its tasks, in the order it happened.
TaskReport = control_plane_pb2.TaskEvent | control_plane_pb2.ReportCheckpointRequest


class SlotsExhausted(Exception):
    """More tasks were asked for than the worker has free slots."""


class _Listener:
    """Forwards the task callbacks of one run of a job (from task threads) to the event loop's
    queue. Task ids repeat from run to run, so the run id tells a cancelled task's last words
    from its successor's."""

    def __init__(self, slots: TaskSlots, job_id: str, run_id: str) -> None:
        self._slots = slots
        self._job_id = job_id
        self._run_id = run_id

    def on_running(self, task_id: str) -> None:
        self._slots.post(self._job_id, self._run_id, task_id, Kind.KIND_RUNNING)

    def on_finished(self, task_id: str) -> None:
        self._slots.post(self._job_id, self._run_id, task_id, Kind.KIND_FINISHED)

    def on_failed(self, task_id: str, message: str) -> None:
        self._slots.post(self._job_id, self._run_id, task_id, Kind.KIND_FAILED, message)

    def on_checkpoint(self, task_id: str, epoch: int, states: list[SubtaskState]) -> None:
        report = control_plane_pb2.ReportCheckpointRequest(
            job_id=self._job_id,
            task_id=task_id,
            epoch=epoch,
            states=[
                control_plane_pb2.SubtaskCheckpointState(
                    operator_id=s.operator_id, subtask_index=s.subtask_index, size_bytes=s.size_bytes
                )
                for s in states
            ],
        )
        self._slots.post_checkpoint(self._run_id, report)


class TaskSlots:
    def __init__(
        self,
        slots: int,
        telemetry: TelemetryBuffer,
        loop: asyncio.AbstractEventLoop,
        exchanges: ExchangeRegistry = PROCESS_EXCHANGES,
    ) -> None:
        self.slots = slots
        self._telemetry = telemetry
        self._loop = loop
        self.exchanges = exchanges
        self._tasks: dict[tuple[str, str], Task] = {}
        self._stopping: set[tuple[str, str]] = set()
        self.events: asyncio.Queue[TaskReport] = asyncio.Queue()

    @property
    def free(self) -> int:
        return self.slots - len(self._tasks)

    def running_task_ids(self) -> list[str]:
        return [task_id for _, task_id in self._tasks]

    def start(
        self,
        job_id: str,
        dataflow: dataflow_pb2.Dataflow,
        specs: Iterable[worker_pb2.TaskSpec],
        *,
        checkpoint_url: str = "",
        restore_location: str = "",
    ) -> None:
        specs = list(specs)
        # A restarted assignment of the same job replaces what ran here before (frames of
        # the new run may already have arrived from faster workers: their inboxes stay).
        self.cancel_job(job_id, keep_run=specs[0].run_id if specs else None)
        if len(specs) > self.free:
            raise SlotsExhausted(f"asked for {len(specs)} tasks, {self.free} slots free")
        for spec in specs:
            task = Task(
                job_id,
                dataflow,
                spec,
                self._telemetry,
                _Listener(self, job_id, spec.run_id),
                checkpoint_url=checkpoint_url,
                restore_location=restore_location,
                exchanges=self.exchanges,
            )
            self._tasks[(job_id, spec.task_id)] = task
            task.start()

    def stop_job(self, job_id: str, graceful: bool) -> None:
        """Graceful: the tasks drain (through their exchanges). Otherwise they are cancelled
        and the job's exchanges here closed; the controller starts a new run of the job only
        after every worker acknowledged this, so no inbox of a newer run exists yet."""
        for (job, task_id), task in list(self._tasks.items()):
            if job == job_id:
                self._stopping.add((job, task_id))
                task.stop(graceful)
        if not graceful:
            self.exchanges.release_job(job_id)

    def trigger_checkpoint(self, job_id: str, epoch: int) -> None:
        """Start checkpoint `epoch` in every task of the job here (tasks without a source
        ignore it: their barriers come with their input)."""
        for (job, _), task in list(self._tasks.items()):
            if job == job_id:
                task.trigger_checkpoint(epoch)

    def commit_checkpoint(self, job_id: str, epoch: int) -> None:
        for (job, _), task in list(self._tasks.items()):
            if job == job_id:
                task.commit_checkpoint(epoch)

    def cancel_job(self, job_id: str, keep_run: str | None = None) -> None:
        """Cancel a job's tasks and forget them at once (no events: nobody waits for them),
        and close its exchanges here but those of run `keep_run`."""
        for key, task in list(self._tasks.items()):
            if key[0] == job_id:
                task.stop(graceful=False)
                del self._tasks[key]
        self.exchanges.release_job(job_id, keep_run=keep_run)

    def cancel_all(self) -> None:
        for job_id in {job for job, _ in self._tasks}:
            self.cancel_job(job_id)

    def shutdown(self, timeout_s: float) -> None:
        """Cancel every task and wait (bounded) for their threads; blocking."""
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.stop(graceful=False)
        for task in tasks:
            task.join(timeout_s)

    def post(self, job_id: str, run_id: str, task_id: str, kind: int, message: str = "") -> None:
        """Thread-safe: queue a task event for the controller."""
        self._loop.call_soon_threadsafe(self._on_event, job_id, run_id, task_id, kind, message)

    def post_checkpoint(self, run_id: str, report: control_plane_pb2.ReportCheckpointRequest) -> None:
        """Thread-safe: queue a task's checkpoint acknowledgement for the controller."""
        self._loop.call_soon_threadsafe(self._on_checkpoint, run_id, report)

    def _is_current(self, key: tuple[str, str], run_id: str) -> bool:
        """Whether the task of `key` here is of run `run_id`; if not, what it reports are a
        cancelled task's last words: passed on, they would end or fail its successor, which
        has the same task id in a newer run."""
        task = self._tasks.get(key)
        return task is not None and task.run_id == run_id

    def _on_checkpoint(self, run_id: str, report: control_plane_pb2.ReportCheckpointRequest) -> None:
        if self._is_current((report.job_id, report.task_id), run_id):
            self.events.put_nowait(report)

    def _on_event(self, job_id: str, run_id: str, task_id: str, kind: int, message: str) -> None:
        key = (job_id, task_id)
        if not self._is_current(key, run_id):
            return
        if kind in (Kind.KIND_FINISHED, Kind.KIND_FAILED):
            del self._tasks[key]
            if key in self._stopping:
                self._stopping.discard(key)
                if kind == Kind.KIND_FINISHED:
                    kind = Kind.KIND_STOPPED
        self.events.put_nowait(
            control_plane_pb2.TaskEvent(
                job_id=job_id, task_id=task_id, kind=kind, message=message, timestamp=now_ms()
            )
        )
