"""Applying worker reports exactly once.

A worker numbers its reports 1, 2, 3, ... per process and resends the unacknowledged ones
after a reconnect. The service remembers, per worker id, the last sequence it applied: a
report at or below it is acknowledged again but not applied, so no delta counts twice.
A gap (a worker that dropped reports it could not buffer) is applied and logged, since the
skipped reports will never come.

Reports come from our own workers, but one bad item must not cost the rest of a report: items
with a malformed job id, an empty operator id or an invalid histogram are dropped and logged,
and the report is still applied and acknowledged. Only a report without a worker id or
sequence is refused, because it cannot be deduplicated.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable

from services.clock import now_ms
from services.ids import is_valid_id, new_id
from services.metrics.aggregates import JobAggregate, TelemetryStore
from services.metrics.histogram import InvalidHistogram, check_histogram
from weir.v1 import logs_pb2, telemetry_pb2

log = logging.getLogger(__name__)


class InvalidReport(ValueError):
    """A report that cannot be applied at all."""


class ReportIngest:
    def __init__(self, store: TelemetryStore, wall_clock: Callable[[], float] = now_ms) -> None:
        self._store = store
        self._limits = store.limits
        self._wall_clock = wall_clock
        # worker id -> last applied seq, least recently reporting worker first.
        self._applied: OrderedDict[str, int] = OrderedDict()

    def last_applied(self, worker_id: str) -> int:
        return self._applied.get(worker_id, 0)

    def apply(self, report: telemetry_pb2.ReportRequest) -> int:
        """Apply `report` unless already applied; return the sequence to acknowledge."""
        if not report.worker_id:
            raise InvalidReport("a report needs a worker_id")
        if report.seq < 1:
            raise InvalidReport("a report's seq starts at 1")
        last = self._applied.get(report.worker_id, 0)
        if report.seq <= last:
            self._applied.move_to_end(report.worker_id)
            return last
        if last and report.seq > last + 1:
            log.warning("worker %s skipped reports %d..%d", report.worker_id, last + 1, report.seq - 1)

        now = self._store.clock()
        timestamp = report.timestamp or self._wall_clock()
        dropped: list[str] = []
        with self._store.lock:
            for subtask in report.subtasks:
                self._apply_subtask(subtask, now, dropped)
            for batch in report.preview:
                self._apply_preview(batch, timestamp, dropped)
            for record in report.errors:
                self._apply_error(record, timestamp, dropped)
            for record in report.logs:
                self._apply_log(record, timestamp, dropped)
        if dropped:
            log.warning(
                "report %d of worker %s: dropped %d item(s), e.g. %s",
                report.seq,
                report.worker_id,
                len(dropped),
                dropped[0],
            )

        self._applied[report.worker_id] = report.seq
        self._applied.move_to_end(report.worker_id)
        while len(self._applied) > self._limits.workers:
            self._applied.popitem(last=False)
        return report.seq

    def _job(self, job_id: str, dropped: list[str]) -> JobAggregate | None:
        if not is_valid_id(job_id, "job"):
            dropped.append(f"malformed job id {job_id[:64]!r}")
            return None
        return self._store.job_for_update(job_id)

    def _apply_subtask(self, subtask: telemetry_pb2.SubtaskReport, now: float, dropped: list[str]) -> None:
        if not subtask.operator_id or subtask.subtask_index < 0:
            dropped.append("subtask report without operator id or with a negative index")
            return
        job = self._job(subtask.job_id, dropped)
        if job is None:
            return
        if not job.apply_subtask(subtask, now):
            dropped.append(f"{subtask.operator_id}[{subtask.subtask_index}]: job at its operator bound")
            return
        if subtask.latency_counts:
            try:
                check_histogram(
                    subtask.latency_bounds_ms, subtask.latency_counts, self._limits.histogram_buckets
                )
            except InvalidHistogram as error:
                dropped.append(f"latency histogram of {subtask.operator_id}: {error}")
                return
            job.latency.add(subtask.latency_bounds_ms, subtask.latency_counts)

    def _apply_preview(self, batch: telemetry_pb2.PreviewBatch, timestamp: float, dropped: list[str]) -> None:
        if not batch.operator_id:
            dropped.append("preview batch without operator id")
            return
        job = self._job(batch.job_id, dropped)
        if job is None:
            return
        buffer = job.preview_buffer(batch.operator_id)
        if buffer is None:
            dropped.append(f"preview of {batch.operator_id}: job at its operator bound")
            return
        rejected = buffer.add(batch.timestamp or timestamp, batch.rows_json, batch.received)
        if rejected:
            dropped.append(f"{rejected} preview row(s) of {batch.operator_id}: not a JSON object or too long")

    def _truncate(self, text: str) -> str:
        return text[: self._limits.record_text_chars]

    def _apply_error(
        self, record: telemetry_pb2.JobErrorRecord, timestamp: float, dropped: list[str]
    ) -> None:
        job = self._job(record.job_id, dropped)
        if job is None:
            return
        error = logs_pb2.JobError()
        error.CopyFrom(record.error)
        if not is_valid_id(error.id, "err"):
            error.id = new_id("err")
        if not error.timestamp:
            error.timestamp = timestamp
        if error.level == logs_pb2.JobError.LEVEL_UNSPECIFIED:
            error.level = logs_pb2.JobError.error
        error.message = self._truncate(error.message)
        error.details = self._truncate(error.details)
        error.record = self._truncate(error.record)
        job.errors.append(error)

    def _apply_log(self, record: telemetry_pb2.JobLogRecord, timestamp: float, dropped: list[str]) -> None:
        job = self._job(record.job_id, dropped)
        if job is None:
            return
        entry = logs_pb2.LogEntry()
        entry.CopyFrom(record.entry)
        if not is_valid_id(entry.id, "log"):
            entry.id = new_id("log")
        if not entry.timestamp:
            entry.timestamp = timestamp
        if entry.level == logs_pb2.LogEntry.LEVEL_UNSPECIFIED:
            entry.level = logs_pb2.LogEntry.info
        entry.message = self._truncate(entry.message)
        job.logs.append(entry)
