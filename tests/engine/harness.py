"""Running real engine tasks in tests: a recording listener, telemetry summed over drains,
and waiting on conditions with deadlines (never sleeping to synchronise)."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from services.paths import PathPolicy
from services.planner import chain_operators, plan_query
from services.worker.engine import Task, TelemetryBuffer
from services.worker.engine.checkpointing import SubtaskState
from services.worker.engine.exchange_channel import ExchangeRegistry
from services.worker.engine.wiring import wire_tasks
from weir.v1 import dataflow_pb2, telemetry_pb2, worker_pb2

DEADLINE_S = 10.0


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = DEADLINE_S) -> None:
    """Poll `condition` until it holds; fail past the deadline."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.005)


class RecordingListener:
    """Records lifecycle callbacks; `ended` is set on finished or failed."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, str]] = []
        self.running = threading.Event()
        self.ended = threading.Event()
        self.checkpoints: dict[int, list[SubtaskState]] = {}
        self._lock = threading.Lock()

    def on_running(self, task_id: str) -> None:
        with self._lock:
            self.events.append(("running", task_id, ""))
        self.running.set()

    def on_finished(self, task_id: str) -> None:
        with self._lock:
            self.events.append(("finished", task_id, ""))
        self.ended.set()

    def on_failed(self, task_id: str, message: str) -> None:
        with self._lock:
            self.events.append(("failed", task_id, message))
        self.ended.set()

    def on_checkpoint(self, task_id: str, epoch: int, states: list[SubtaskState]) -> None:
        with self._lock:
            self.events.append(("checkpoint", task_id, str(epoch)))
            self.checkpoints[epoch] = states

    def wait_ended(self, timeout_s: float = DEADLINE_S) -> None:
        assert self.ended.wait(timeout_s), f"task did not end within {timeout_s} s: {self.events}"

    def kinds(self) -> list[str]:
        with self._lock:
            return [kind for kind, _, _ in self.events]


@dataclass
class OperatorTotals:
    records_in: int = 0
    records_out: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    errors: int = 0
    latency_counts: list[int] = field(default_factory=list)
    fractions: list[tuple[float, float, float]] = field(default_factory=list)


class TelemetryTotals:
    """Everything drained from a buffer so far, summed."""

    def __init__(self, buffer: TelemetryBuffer) -> None:
        self.buffer = buffer
        self.operators: dict[tuple[str, int], OperatorTotals] = defaultdict(OperatorTotals)
        self.preview_rows: dict[str, list[str]] = defaultdict(list)
        self.preview_received: dict[str, int] = defaultdict(int)
        self.logs: list[telemetry_pb2.JobLogRecord] = []
        self.errors: list[telemetry_pb2.JobErrorRecord] = []
        self.reports: list[telemetry_pb2.ReportRequest] = []

    def drain(self) -> TelemetryTotals:
        report = self.buffer.drain()
        self.reports.append(report)
        for subtask in report.subtasks:
            totals = self.operators[(subtask.operator_id, subtask.subtask_index)]
            totals.records_in += subtask.records_in
            totals.records_out += subtask.records_out
            totals.bytes_in += subtask.bytes_in
            totals.bytes_out += subtask.bytes_out
            totals.errors += subtask.errors
            totals.fractions.append(
                (subtask.busy_fraction, subtask.idle_fraction, subtask.backpressure_fraction)
            )
            if subtask.latency_counts:
                if not totals.latency_counts:
                    totals.latency_counts = [0] * len(subtask.latency_counts)
                totals.latency_counts = [
                    a + b for a, b in zip(totals.latency_counts, subtask.latency_counts, strict=True)
                ]
        for preview in report.preview:
            self.preview_rows[preview.operator_id].extend(preview.rows_json)
            self.preview_received[preview.operator_id] += preview.received
        self.logs.extend(report.logs)
        self.errors.extend(report.errors)
        return self

    def sum(self, operator_id: str, counter: str) -> int:
        return sum(getattr(t, counter) for (op, _), t in self.operators.items() if op == operator_id)

    def log_messages(self) -> list[str]:
        return [record.entry.message for record in self.logs]


@dataclass
class RunningJob:
    dataflow: dataflow_pb2.Dataflow
    tasks: list[Task]
    listeners: list[RecordingListener]
    telemetry: TelemetryTotals

    def wait_ended(self, timeout_s: float = DEADLINE_S) -> None:
        for listener in self.listeners:
            listener.wait_ended(timeout_s)
        for task in self.tasks:
            assert task.join(timeout_s)

    def stop(self, graceful: bool) -> None:
        for task in self.tasks:
            task.stop(graceful)


def start_job(
    query: str,
    parallelism: int = 1,
    buffer: TelemetryBuffer | None = None,
    job_id: str = "job_test",
    paths: PathPolicy | None = None,
    *,
    checkpoint_url: str = "",
    restore_location: str = "",
) -> RunningJob:
    """Plan `query` and start one task per chain and subtask index, as a worker would."""
    dataflow = plan_query(query, parallelism, paths or PathPolicy([]))
    return start_dataflow(
        dataflow, buffer, job_id, checkpoint_url=checkpoint_url, restore_location=restore_location
    )


def start_dataflow(
    dataflow: dataflow_pb2.Dataflow,
    buffer: TelemetryBuffer | None = None,
    job_id: str = "job_test",
    *,
    checkpoint_url: str = "",
    restore_location: str = "",
) -> RunningJob:
    """Start every task of `dataflow` on one worker, wired as the scheduler wires them
    (exchanges between chains through an in-process registry)."""
    telemetry = buffer or TelemetryBuffer()
    placed = [
        worker_pb2.TaskSpec(
            task_id=f"task_{number}_{index}",
            operator_ids=chain.operator_ids,
            subtask_index=index,
            parallelism=chain.parallelism,
        )
        for number, chain in enumerate(chain_operators(dataflow))
        for index in range(chain.parallelism)
    ]
    specs = wire_tasks(dataflow, {"worker": placed}, {}, run_id=f"run_{job_id}")["worker"]
    exchanges = ExchangeRegistry()
    tasks, listeners = [], []
    for spec in specs:
        listener = RecordingListener()
        task = Task(
            job_id,
            dataflow,
            spec,
            telemetry,
            listener,
            checkpoint_url=checkpoint_url,
            restore_location=restore_location,
            exchanges=exchanges,
        )
        tasks.append(task)
        listeners.append(listener)
    for task in tasks:
        task.start()
    return RunningJob(dataflow, tasks, listeners, TelemetryTotals(telemetry))
