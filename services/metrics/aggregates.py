"""What the metrics service knows about each job: counters per subtask, job totals, the
merged latency histogram, throughput windows, recent gauges and preview rows. (Logs and errors
are not kept here but in the store: see job_log_writer.)

Workers report deltas, so aggregation is addition: every counter here is an exact integer sum
of the deltas applied (Python ints, no float drift), converted to the API's doubles only when
answering. Totals are kept up to date as deltas arrive, so a query costs O(operators) and
`SummarizeJobs` over a page of jobs costs O(page).

Concurrency: all mutation happens on the service's event loop. `TelemetryStore.lock` is held
while a report is applied so that readers on other threads (the OpenTelemetry bridge's
collection thread) see whole reports; queries run on the event loop and need no lock.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from services.metrics.catalog import OperatorKind
from services.metrics.histogram import LatencyHistogram
from services.metrics.limits import TelemetryLimits
from services.metrics.preview import PreviewBuffer
from services.metrics.rate import WindowedRate, monotonic_ms
from weir.v1 import telemetry_pb2

ROLE_KINDS: dict[int, OperatorKind] = {
    telemetry_pb2.SubtaskReport.ROLE_SOURCE: OperatorKind.SOURCE,
    telemetry_pb2.SubtaskReport.ROLE_TRANSFORM: OperatorKind.TRANSFORM,
    telemetry_pb2.SubtaskReport.ROLE_SINK: OperatorKind.SINK,
}


@dataclass
class Counters:
    """Exact counter sums."""

    records_in: int = 0
    records_out: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    errors: int = 0
    warnings: int = 0

    def add(self, other: Counters) -> None:
        self.records_in += other.records_in
        self.records_out += other.records_out
        self.bytes_in += other.bytes_in
        self.bytes_out += other.bytes_out
        self.errors += other.errors
        self.warnings += other.warnings


def _fraction(value: float) -> float:
    """A reported fraction clamped to 0..1 (NaN as 0): a worker's rounding must not show as
    101% busy, and one bad value must not poison a max."""
    if 0.0 <= value <= 1.0:  # the usual case, and False for NaN
        return value
    return 0.0 if math.isnan(value) else min(1.0, max(0.0, value))


@dataclass
class SubtaskAggregate:
    counters: Counters = field(default_factory=Counters)
    # Gauges: the fractions of the subtask's latest report.
    busy_fraction: float = 0.0
    idle_fraction: float = 0.0
    backpressure_fraction: float = 0.0
    state_size: float = 0.0
    # Arrival time (service clock) of the latest report.
    last_report_ms: float = -math.inf

    def is_live(self, now_ms: float, window_ms: float) -> bool:
        """Whether the subtask reported within the window: gauges of a subtask that stopped
        reporting (finished, stopped, lost) no longer describe the job."""
        return now_ms - self.last_report_ms <= window_ms


@dataclass
class OperatorAggregate:
    operator_name: str
    # From the reports' role; None until a report says.
    kind: OperatorKind | None
    parallelism: int
    subtasks: dict[int, SubtaskAggregate] = field(default_factory=dict)

    def totals(self) -> Counters:
        totals = Counters()
        for subtask in self.subtasks.values():
            totals.add(subtask.counters)
        return totals

    def live_subtasks(self, now_ms: float, window_ms: float) -> list[SubtaskAggregate]:
        return [s for s in self.subtasks.values() if s.is_live(now_ms, window_ms)]


class JobAggregate:
    """Everything kept about one job, each part bounded by `TelemetryLimits`."""

    def __init__(self, limits: TelemetryLimits) -> None:
        self._limits = limits
        self.operators: dict[str, OperatorAggregate] = {}
        self._subtask_count = 0
        # Job totals: records/bytes in = out of sources, out = into sinks; errors and warnings
        # of every operator.
        self.totals = Counters()
        self.latency = LatencyHistogram()
        # Records out of sources, into sinks, out of transforms: each group's throughput.
        self.rates: dict[OperatorKind, WindowedRate] = {
            kind: WindowedRate(limits.window_ms, limits.window_resolution_ms) for kind in OperatorKind
        }
        self.previews: dict[str, PreviewBuffer] = {}

    def apply_subtask(self, report: telemetry_pb2.SubtaskReport, now_ms: float) -> bool:
        """Add one subtask's deltas; False when the job is at its operator or subtask bound
        and this subtask is new (its telemetry is dropped)."""
        operator = self.operators.get(report.operator_id)
        if operator is None:
            if len(self.operators) >= self._limits.operators_per_job:
                return False
            operator = OperatorAggregate(report.operator_name, None, report.parallelism)
            self.operators[report.operator_id] = operator
        subtask = operator.subtasks.get(report.subtask_index)
        if subtask is None:
            if self._subtask_count >= self._limits.subtasks_per_job:
                return False
            subtask = operator.subtasks[report.subtask_index] = SubtaskAggregate()
            self._subtask_count += 1

        if report.operator_name:
            operator.operator_name = report.operator_name
        if report.parallelism > 0:
            operator.parallelism = report.parallelism
        if report.role in ROLE_KINDS:
            operator.kind = ROLE_KINDS[report.role]

        # Fields read once into locals: this runs for every subtask of every report.
        records_in, records_out = report.records_in, report.records_out
        bytes_in, bytes_out = report.bytes_in, report.bytes_out
        errors, warnings = report.errors, report.warnings
        counters = subtask.counters
        counters.records_in += records_in
        counters.records_out += records_out
        counters.bytes_in += bytes_in
        counters.bytes_out += bytes_out
        counters.errors += errors
        counters.warnings += warnings
        subtask.busy_fraction = _fraction(report.busy_fraction)
        subtask.idle_fraction = _fraction(report.idle_fraction)
        subtask.backpressure_fraction = _fraction(report.backpressure_fraction)
        subtask.state_size = report.state_size
        subtask.last_report_ms = now_ms

        totals, kind = self.totals, operator.kind
        totals.errors += errors
        totals.warnings += warnings
        if kind is OperatorKind.SOURCE:
            totals.records_in += records_out
            totals.bytes_in += bytes_out
            group_records = records_out
        elif kind is OperatorKind.SINK:
            totals.records_out += records_in
            totals.bytes_out += bytes_in
            group_records = records_in
        else:
            group_records = records_out
        if kind is not None and group_records:
            self.rates[kind].add(now_ms, group_records)
        return True

    def preview_buffer(self, operator_id: str) -> PreviewBuffer | None:
        """The preview ring of a sink operator, created on first use; None past the job's
        operator bound."""
        buffer = self.previews.get(operator_id)
        if buffer is None and len(self.previews) < self._limits.operators_per_job:
            buffer = PreviewBuffer(self._limits.preview_rows_per_operator, self._limits.preview_row_bytes)
            self.previews[operator_id] = buffer
        return buffer

    def backpressure(self, now_ms: float) -> float:
        """Max recent backpressure fraction over the job's live subtasks."""
        return max(
            (
                s.backpressure_fraction
                for op in self.operators.values()
                for s in op.live_subtasks(now_ms, self._limits.window_ms)
            ),
            default=0.0,
        )


class TelemetryStore:
    """All jobs' aggregates, least recently reported first, at most `limits.jobs` of them."""

    def __init__(
        self, limits: TelemetryLimits | None = None, clock: Callable[[], float] = monotonic_ms
    ) -> None:
        self.limits = limits or TelemetryLimits()
        # Service-side monotonic milliseconds: arrival times for windows and gauges.
        self.clock = clock
        self.lock = threading.Lock()
        self._jobs: OrderedDict[str, JobAggregate] = OrderedDict()

    def job(self, job_id: str) -> JobAggregate | None:
        return self._jobs.get(job_id)

    def job_for_update(self, job_id: str) -> JobAggregate:
        """The job's aggregate, created if new and marked most recently reported; the least
        recently reported job is forgotten past the bound (hold `lock`)."""
        job = self._jobs.get(job_id)
        if job is None:
            job = self._jobs[job_id] = JobAggregate(self.limits)
            while len(self._jobs) > self.limits.jobs:
                self._jobs.popitem(last=False)
        else:
            self._jobs.move_to_end(job_id)
        return job

    def snapshot_jobs(self) -> list[tuple[str, JobAggregate]]:
        """The jobs as of now, for readers off the event loop (hold `lock`)."""
        return list(self._jobs.items())
