"""Counters of one task and of each operator subtask in it, as the task thread updates them.

Counters are cumulative and written only by the task's thread; the telemetry drain reads
them from another thread and reports the difference from what it last reported. Reading
an int attribute is atomic, so the hot path (a few additions per batch) needs no lock.
Time accounting (idle, backpressure), touched only around waits, uses a lock so that a
wait in progress is split correctly across reports.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from services.worker.engine.latency_histogram import LatencyHistogram
from weir.v1 import telemetry_pb2

Role = telemetry_pb2.SubtaskReport.Role


@dataclass(frozen=True)
class CounterSnapshot:
    """Cumulative counter values at one instant."""

    records_in: int = 0
    records_out: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    errors: int = 0
    warnings: int = 0
    latency_counts: tuple[int, ...] = ()


class OperatorMetrics:
    """Counters of one operator subtask. Sinks also count latency."""

    __slots__ = (
        "bytes_in",
        "bytes_out",
        "errors",
        "latency",
        "operator_id",
        "operator_name",
        "records_in",
        "records_out",
        "reported",
        "role",
        "warnings",
    )

    def __init__(self, operator_id: str, operator_name: str, role: Role.ValueType) -> None:
        self.operator_id = operator_id
        self.operator_name = operator_name
        self.role = role
        self.records_in = 0
        self.records_out = 0
        self.bytes_in = 0
        self.bytes_out = 0
        self.errors = 0
        self.warnings = 0
        self.latency = LatencyHistogram() if role == Role.ROLE_SINK else None
        # What the drain last reported (owned by the drain, under the buffer's lock).
        self.reported = CounterSnapshot(latency_counts=tuple(self.latency.counts) if self.latency else ())

    def count_in(self, records: int, nbytes: int) -> None:
        self.records_in += records
        self.bytes_in += nbytes

    def count_out(self, records: int, nbytes: int) -> None:
        self.records_out += records
        self.bytes_out += nbytes

    def observe_latency(self, read_time_ns: int, records: int) -> None:
        """Count `records` written now that a source read at `read_time_ns` (wall clock)."""
        if self.latency is not None:
            self.latency.observe((time.time_ns() - read_time_ns) / 1e6, records)

    def snapshot(self) -> CounterSnapshot:
        return CounterSnapshot(
            records_in=self.records_in,
            records_out=self.records_out,
            bytes_in=self.bytes_in,
            bytes_out=self.bytes_out,
            errors=self.errors,
            warnings=self.warnings,
            latency_counts=tuple(self.latency.counts) if self.latency else (),
        )


@dataclass(frozen=True)
class TimeShares:
    """Nanoseconds of an interval a task spent busy, idle (waiting for input) and
    backpressured (waiting for room downstream)."""

    busy_ns: int
    idle_ns: int
    backpressure_ns: int


class TaskMetrics:
    """One task (a chain at one subtask index): its operators' counters and its time.

    Like Flink, time is accounted per task, and every operator of the chain reports the
    task's busy/idle/backpressure fractions: chained operators share one thread.
    """

    def __init__(
        self,
        job_id: str,
        task_id: str,
        subtask_index: int,
        parallelism: int,
        operators: list[OperatorMetrics],
    ) -> None:
        self.job_id = job_id
        self.task_id = task_id
        self.subtask_index = subtask_index
        self.parallelism = parallelism
        self.operators = operators
        self._by_id = {m.operator_id: m for m in operators}
        self._lock = threading.Lock()
        now = time.monotonic_ns()
        self._started_ns = now
        self._ended_ns: int | None = None
        self._idle_ns = 0
        self._backpressure_ns = 0
        self._waiting_since_ns: int | None = None
        self._waiting_for_output = False
        self._last_report_ns = now
        self._reported_idle_ns = 0
        self._reported_backpressure_ns = 0

    def operator(self, operator_id: str) -> OperatorMetrics:
        return self._by_id[operator_id]

    @property
    def ended(self) -> bool:
        return self._ended_ns is not None

    def begin_wait(self, for_output: bool) -> None:
        """The task starts waiting: for input (idle) or for room downstream (backpressure)."""
        with self._lock:
            self._waiting_since_ns = time.monotonic_ns()
            self._waiting_for_output = for_output

    def end_wait(self) -> None:
        with self._lock:
            if self._waiting_since_ns is not None:
                self._add_wait(time.monotonic_ns() - self._waiting_since_ns)
                self._waiting_since_ns = None

    def mark_ended(self) -> None:
        with self._lock:
            if self._ended_ns is None:
                now = time.monotonic_ns()
                if self._waiting_since_ns is not None:
                    self._add_wait(now - self._waiting_since_ns)
                    self._waiting_since_ns = None
                self._ended_ns = now

    def _add_wait(self, ns: int) -> None:
        if self._waiting_for_output:
            self._backpressure_ns += ns
        else:
            self._idle_ns += ns

    def take_time_shares(self) -> tuple[int, TimeShares]:
        """The interval since the previous call (ns) and how it was spent; for the drain."""
        with self._lock:
            now = time.monotonic_ns()
            # A wait in progress counts up to now; the rest of it lands in the next report.
            if self._waiting_since_ns is not None:
                self._add_wait(now - self._waiting_since_ns)
                self._waiting_since_ns = now
            interval = max(now - self._last_report_ns, 1)
            active_end = self._ended_ns if self._ended_ns is not None else now
            active = max(active_end - max(self._last_report_ns, self._started_ns), 0)
            idle = self._idle_ns - self._reported_idle_ns
            backpressure = self._backpressure_ns - self._reported_backpressure_ns
            self._reported_idle_ns = self._idle_ns
            self._reported_backpressure_ns = self._backpressure_ns
            self._last_report_ns = now
        busy = max(active - idle - backpressure, 0)
        return interval, TimeShares(busy, idle, backpressure)
