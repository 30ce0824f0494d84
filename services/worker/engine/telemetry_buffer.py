"""Everything a worker's tasks report, buffered until the telemetry stream drains it.

One buffer per worker process, shared by all its tasks. `drain()` turns what accumulated
since the previous drain into one `ReportRequest`: counter deltas per operator subtask,
time fractions, latency histogram deltas, preview rows, log and error records. Everything
is bounded: preview rows per operator, and log and error records per report (with a
warning saying how many were dropped), so a noisy job cannot grow a worker's memory.

`rebase()` makes the next drain report everything since the worker started instead of
since the previous drain: for a metrics service that restarted and lost what it had
aggregated (see telemetry_stream.py). So the buffer keeps the counters of ended tasks
(the most recent `MAX_RETIRED_TASKS`) and each preview's count of rows reported so far.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from services.clock import now_ms
from services.ids import new_id
from services.worker.engine.latency_histogram import LATENCY_BOUNDS_MS
from services.worker.engine.subtask_metrics import CounterSnapshot, OperatorMetrics, Role, TaskMetrics
from weir.v1 import logs_pb2, telemetry_pb2

MAX_PREVIEW_ROWS_PER_OPERATOR = 200
MAX_LOG_RECORDS_PER_REPORT = 1000
MAX_ERROR_RECORDS_PER_REPORT = 1000
MAX_RECORD_CHARS = 4096
MAX_MESSAGE_CHARS = 4096
# The logs, errors and preview rows of one report together, in bytes: the bounds above allow
# far more (1000 errors of 3 x 4096 non-ASCII characters are 37 MB), and a report must fit in
# one gRPC message (16 MiB, services/serving.py) with room left for the counters. Entries past
# it are dropped and counted like those past the record bounds.
MAX_REPORT_PAYLOAD_BYTES = 8 * 1024 * 1024
# Ended tasks whose counters a rebase can still report; a task's counters are a few hundred
# bytes, and a task ended longer ago than this many others is not worth the memory.
MAX_RETIRED_TASKS = 4096
# (job, preview operator) pairs whose reported row counts a rebase can still report.
MAX_PREVIEW_TOTALS = 4096

LogLevel = logs_pb2.LogEntry.Level
_Record = TypeVar("_Record", telemetry_pb2.JobLogRecord, telemetry_pb2.JobErrorRecord)
ErrorLevel = logs_pb2.JobError.Level


@dataclass
class _Preview:
    rows: list[str] = field(default_factory=list)
    received: int = 0
    timestamp: float = 0.0


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class TelemetryBuffer:
    """Thread-safe: tasks write from their threads, the telemetry stream drains."""

    def __init__(self, max_preview_rows: int = MAX_PREVIEW_ROWS_PER_OPERATOR) -> None:
        self._lock = threading.Lock()
        self._max_preview_rows = max_preview_rows
        self._tasks: list[TaskMetrics] = []
        # Ended and fully reported, kept for a rebase.
        self._retired: collections.deque[TaskMetrics] = collections.deque(maxlen=MAX_RETIRED_TASKS)
        # Rows received per preview and reported by past drains, for a rebase.
        self._preview_reported: collections.OrderedDict[tuple[str, str], int] = collections.OrderedDict()
        self._previews: dict[tuple[str, str], _Preview] = {}
        self._logs: list[telemetry_pb2.JobLogRecord] = []
        self._errors: list[telemetry_pb2.JobErrorRecord] = []
        self._dropped_logs: dict[str, int] = {}
        self._dropped_errors: dict[str, int] = {}
        # Bytes of logs, errors and preview rows the next report holds so far.
        self._payload_bytes = 0

    # Tasks

    def register_task(
        self,
        job_id: str,
        task_id: str,
        subtask_index: int,
        parallelism: int,
        operators: Sequence[tuple[str, str, Role.ValueType]],
    ) -> TaskMetrics:
        """Start reporting a task's operators (id, name, role); reported until it ends."""
        metrics = TaskMetrics(
            job_id,
            task_id,
            subtask_index,
            parallelism,
            [OperatorMetrics(*operator) for operator in operators],
        )
        with self._lock:
            self._tasks.append(metrics)
        return metrics

    # Preview rows

    def preview_room(self, job_id: str, operator_id: str) -> int:
        """How many more preview rows of this operator the next report keeps."""
        with self._lock:
            preview = self._previews.get((job_id, operator_id))
            return self._max_preview_rows - (len(preview.rows) if preview else 0)

    def add_preview(self, job_id: str, operator_id: str, rows_json: Sequence[str], received: int) -> None:
        """Add rows (JSON objects) a preview sink received; `received` counts kept or not."""
        with self._lock:
            preview = self._previews.setdefault((job_id, operator_id), _Preview())
            room = self._max_preview_rows - len(preview.rows)
            preview.rows.extend(self._rows_with_room(rows_json[: max(room, 0)]))
            preview.received += received
            preview.timestamp = now_ms()

    # Logs and errors

    def log(
        self,
        job_id: str,
        level: LogLevel.ValueType,
        message: str,
        operator_id: str = "",
        task_index: int = 0,
        details: Mapping[str, object] | None = None,
    ) -> None:
        entry = logs_pb2.LogEntry(
            id=new_id("log"),
            timestamp=now_ms(),
            level=level,
            operator_id=operator_id,
            task_index=task_index,
            message=_truncate(message, MAX_MESSAGE_CHARS),
        )
        if details:
            entry.details.update(dict(details))
        record = telemetry_pb2.JobLogRecord(job_id=job_id, entry=entry)
        size = record.ByteSize()
        with self._lock:
            if len(self._logs) >= MAX_LOG_RECORDS_PER_REPORT or not self._take_room(size):
                self._dropped_logs[job_id] = self._dropped_logs.get(job_id, 0) + 1
                return
            self._logs.append(record)

    def error(
        self,
        job_id: str,
        message: str,
        operator_id: str,
        task_index: int,
        details: str = "",
        record: str = "",
        level: ErrorLevel.ValueType = ErrorLevel.error,
    ) -> None:
        error = logs_pb2.JobError(
            id=new_id("err"),
            timestamp=now_ms(),
            level=level,
            operator_id=operator_id,
            task_index=task_index,
            message=_truncate(message, MAX_MESSAGE_CHARS),
            details=_truncate(details, MAX_RECORD_CHARS),
            record=_truncate(record, MAX_RECORD_CHARS),
        )
        report = telemetry_pb2.JobErrorRecord(job_id=job_id, error=error)
        size = report.ByteSize()
        with self._lock:
            if len(self._errors) >= MAX_ERROR_RECORDS_PER_REPORT or not self._take_room(size):
                self._dropped_errors[job_id] = self._dropped_errors.get(job_id, 0) + 1
                return
            self._errors.append(report)

    # Draining

    def drain(self) -> telemetry_pb2.ReportRequest:
        """Everything since the previous drain; `worker_id` and `seq` are the caller's."""
        with self._lock:
            report = telemetry_pb2.ReportRequest(timestamp=now_ms())
            # Whether a task ended is read before its counters: a task's last counts precede
            # its end, so a task seen ended here is reported complete and can be dropped.
            ended = [task.ended for task in self._tasks]
            for task in self._tasks:
                report.subtasks.extend(self._subtask_reports(task))
            self._retired.extend(task for task, gone in zip(self._tasks, ended, strict=True) if gone)
            self._tasks = [task for task, gone in zip(self._tasks, ended, strict=True) if not gone]
            for (job_id, operator_id), preview in self._previews.items():
                if preview.received:
                    self._count_preview_reported((job_id, operator_id), preview.received)
                    report.preview.append(
                        telemetry_pb2.PreviewBatch(
                            job_id=job_id,
                            operator_id=operator_id,
                            timestamp=preview.timestamp,
                            rows_json=preview.rows,
                            received=preview.received,
                        )
                    )
            self._previews = {}
            logs, self._logs = self._logs, []
            errors, self._errors = self._errors, []
            dropped_logs, self._dropped_logs = self._dropped_logs, {}
            dropped_errors, self._dropped_errors = self._dropped_errors, {}
            self._payload_bytes = 0
        report.logs.extend(logs)
        report.errors.extend(errors)
        for job_id in sorted(dropped_logs.keys() | dropped_errors.keys()):
            report.logs.append(
                self._dropped_notice(job_id, dropped_logs.get(job_id, 0), dropped_errors.get(job_id, 0))
            )
        return report

    def _count_preview_reported(self, key: tuple[str, str], received: int) -> None:
        self._preview_reported[key] = self._preview_reported.get(key, 0) + received
        self._preview_reported.move_to_end(key)
        while len(self._preview_reported) > MAX_PREVIEW_TOTALS:
            self._preview_reported.popitem(last=False)

    def rebase(
        self,
        logs: Sequence[telemetry_pb2.JobLogRecord] = (),
        errors: Sequence[telemetry_pb2.JobErrorRecord] = (),
        previews: Sequence[telemetry_pb2.PreviewBatch] = (),
    ) -> None:
        """Make the next drain report every count since this worker started (ended tasks
        too, within `MAX_RETIRED_TASKS`), for a receiver that lost everything reported so
        far. `logs`, `errors` and the rows of `previews` (reports it never applied) join the
        next drain again; their counts are in the totals already."""
        with self._lock:
            self._tasks = [*self._retired, *self._tasks]
            self._retired.clear()
            for task in self._tasks:
                for operator in task.operators:
                    zeros = (0,) * len(operator.reported.latency_counts)
                    operator.reported = CounterSnapshot(latency_counts=zeros)
            for key, received in self._preview_reported.items():
                self._previews.setdefault(key, _Preview()).received += received
            self._preview_reported.clear()
            for batch in previews:
                preview = self._previews.setdefault((batch.job_id, batch.operator_id), _Preview())
                room = self._max_preview_rows - len(preview.rows)
                preview.rows[:0] = self._rows_with_room(list(batch.rows_json)[: max(room, 0)])
                preview.timestamp = max(preview.timestamp, batch.timestamp)
            self._rejoin(logs, self._logs, MAX_LOG_RECORDS_PER_REPORT, self._dropped_logs)
            self._rejoin(errors, self._errors, MAX_ERROR_RECORDS_PER_REPORT, self._dropped_errors)

    def _rejoin(
        self, records: Sequence[_Record], queue: list[_Record], limit: int, dropped: dict[str, int]
    ) -> None:
        """Put records of reports never applied back in front of `queue`, within the record
        and payload bounds; count the others as dropped (hold the lock)."""
        kept: list[_Record] = []
        for record in records:
            if len(queue) + len(kept) < limit and self._take_room(record.ByteSize()):
                kept.append(record)
            else:
                dropped[record.job_id] = dropped.get(record.job_id, 0) + 1
        queue[:0] = kept

    def _take_room(self, size: int) -> bool:
        """Count `size` bytes into the next report if they fit its payload bound (hold the lock)."""
        if self._payload_bytes + size > MAX_REPORT_PAYLOAD_BYTES:
            return False
        self._payload_bytes += size
        return True

    def _rows_with_room(self, rows: Sequence[str]) -> list[str]:
        """The first of `rows` that fit the next report's payload bound (hold the lock)."""
        kept = []
        for row in rows:
            if not self._take_room(len(row.encode())):
                break
            kept.append(row)
        return kept

    @staticmethod
    def _subtask_reports(task: TaskMetrics) -> list[telemetry_pb2.SubtaskReport]:
        # Time first: an operator's counters read after it are never older than its interval.
        interval_ns, shares = task.take_time_shares()
        reports = []
        for operator in task.operators:
            now = operator.snapshot()
            before = operator.reported
            operator.reported = now
            report = telemetry_pb2.SubtaskReport(
                job_id=task.job_id,
                operator_id=operator.operator_id,
                operator_name=operator.operator_name,
                subtask_index=task.subtask_index,
                parallelism=task.parallelism,
                role=operator.role,
                records_in=now.records_in - before.records_in,
                records_out=now.records_out - before.records_out,
                bytes_in=now.bytes_in - before.bytes_in,
                bytes_out=now.bytes_out - before.bytes_out,
                errors=now.errors - before.errors,
                warnings=now.warnings - before.warnings,
                busy_fraction=min(shares.busy_ns / interval_ns, 1.0),
                idle_fraction=min(shares.idle_ns / interval_ns, 1.0),
                backpressure_fraction=min(shares.backpressure_ns / interval_ns, 1.0),
            )
            if operator.latency is not None:
                report.latency_bounds_ms.extend(LATENCY_BOUNDS_MS)
                report.latency_counts.extend(_deltas(now, before))
            reports.append(report)
        return reports

    @staticmethod
    def _dropped_notice(job_id: str, logs: int, errors: int) -> telemetry_pb2.JobLogRecord:
        entry = logs_pb2.LogEntry(
            id=new_id("log"),
            timestamp=now_ms(),
            level=LogLevel.warn,
            message=f"telemetry dropped {logs} log and {errors} error records over the per-report bound",
        )
        entry.details.update({"dropped_logs": logs, "dropped_errors": errors})
        return telemetry_pb2.JobLogRecord(job_id=job_id, entry=entry)


def _deltas(now: CounterSnapshot, before: CounterSnapshot) -> list[int]:
    previous = before.latency_counts or (0,) * len(now.latency_counts)
    return [a - b for a, b in zip(now.latency_counts, previous, strict=True)]
