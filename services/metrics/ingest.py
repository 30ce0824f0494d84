"""Applying worker reports exactly once.

A worker numbers its reports 1, 2, 3, ... per process and resends the unacknowledged ones
after a reconnect. The service remembers, per worker id, the last sequence it applied: a
report at or below it is acknowledged again but not applied, so no delta counts twice.
A gap (a worker that dropped reports it could not buffer) is applied and logged, since the
skipped reports will never come.

A report's logs and errors are written to the store (`JobLogWriter`) before its counters are
applied and before it is acknowledged: if the store refuses them, nothing of the report is
applied and the worker resends it. While that write is awaited another stream of the same
worker may apply the same report, so the sequence is checked again before applying.

Aggregates live in this process's memory, so a restart loses them. Each process names itself
with a random incarnation id, which the Report stream sends as initial metadata before reading
any report (`INCARNATION_METADATA_KEY`): a worker that reported to another incarnation knows
its reports were lost and sends its totals since it started (services/worker/telemetry_stream.py).

Reports come from our own workers, but one bad item must not cost the rest of a report: items
with a malformed job id, an empty operator id or an invalid histogram are dropped and logged,
and the report is still applied and acknowledged. Only a report without a worker id or
sequence is refused, because it cannot be deduplicated.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from google.protobuf import json_format

from services.api_errors import quoted
from services.clock import now_ms
from services.ids import is_valid_id, new_id
from services.metrics.aggregates import JobAggregate, TelemetryStore
from services.metrics.histogram import InvalidHistogram, check_histogram
from services.metrics.job_log_writer import JobLogWriter
from services.store import JobErrorRecord, JobLogRecord
from weir.v1 import logs_pb2, telemetry_pb2

log = logging.getLogger(__name__)

_LOG_LEVELS = frozenset(logs_pb2.LogEntry.Level.values()) - {logs_pb2.LogEntry.LEVEL_UNSPECIFIED}
_ERROR_LEVELS = frozenset(logs_pb2.JobError.Level.values()) - {logs_pb2.JobError.LEVEL_UNSPECIFIED}
# The store's operator_id column width.
_OPERATOR_ID_CHARS = 128

# Initial metadata of the Report stream: which metrics service process the worker talks to.
INCARNATION_METADATA_KEY = "weir-metrics-incarnation"


class InvalidReport(ValueError):
    """A report that cannot be applied at all."""


class ReportIngest:
    def __init__(
        self, store: TelemetryStore, writer: JobLogWriter, wall_clock: Callable[[], float] = now_ms
    ) -> None:
        self._store = store
        self._writer = writer
        self._limits = store.limits
        self._wall_clock = wall_clock
        # Names this process's aggregates: a new one means everything reported before is gone.
        self.incarnation = secrets.token_hex(8)
        # worker id -> last applied seq, least recently reporting worker first.
        self._applied: OrderedDict[str, int] = OrderedDict()

    def last_applied(self, worker_id: str) -> int:
        return self._applied.get(worker_id, 0)

    async def apply(self, report: telemetry_pb2.ReportRequest) -> int:
        """Apply `report` unless already applied; return the sequence to acknowledge.
        JobLogWriteFailed (nothing applied) if its logs and errors could not be stored."""
        if not report.worker_id:
            raise InvalidReport("a report needs a worker_id")
        if report.seq < 1:
            raise InvalidReport("a report's seq starts at 1")
        if report.seq <= self._applied.get(report.worker_id, 0):
            return self._already_applied(report.worker_id)

        timestamp = report.timestamp or self._wall_clock()
        dropped: list[str] = []
        logs = [e for r in report.logs if (e := self._log_entry(r, timestamp, dropped))]
        errors = [e for r in report.errors if (e := self._error(r, timestamp, dropped))]
        await self._writer.write(logs, errors)

        last = self._applied.get(report.worker_id, 0)
        if report.seq <= last:
            return self._already_applied(report.worker_id)
        if last and report.seq > last + 1:
            log.warning("worker %s skipped reports %d..%d", report.worker_id, last + 1, report.seq - 1)
        now = self._store.clock()
        with self._store.lock:
            for subtask in report.subtasks:
                self._apply_subtask(subtask, now, dropped)
            for batch in report.preview:
                self._apply_preview(batch, timestamp, dropped)
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

    def _already_applied(self, worker_id: str) -> int:
        self._applied.move_to_end(worker_id)
        return self._applied[worker_id]

    def _job(self, job_id: str, dropped: list[str]) -> JobAggregate | None:
        if not is_valid_id(job_id, "job"):
            dropped.append(f"malformed job id {quoted(job_id)}")
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

    def _error(
        self, record: telemetry_pb2.JobErrorRecord, timestamp: float, dropped: list[str]
    ) -> JobErrorRecord | None:
        if not is_valid_id(record.job_id, "job"):
            dropped.append(f"malformed job id {quoted(record.job_id)}")
            return None
        error = record.error
        level = error.level if error.level in _ERROR_LEVELS else logs_pb2.JobError.error
        return JobErrorRecord(
            id=error.id if is_valid_id(error.id, "err") else new_id("err"),
            job_id=record.job_id,
            timestamp=error.timestamp or timestamp,
            level=logs_pb2.JobError.Level.Name(level),
            message=self._truncate(error.message),
            operator_id=error.operator_id[:_OPERATOR_ID_CHARS],
            task_index=error.task_index,
            details=self._truncate(error.details),
            record=self._truncate(error.record),
        )

    def _log_entry(
        self, record: telemetry_pb2.JobLogRecord, timestamp: float, dropped: list[str]
    ) -> JobLogRecord | None:
        if not is_valid_id(record.job_id, "job"):
            dropped.append(f"malformed job id {quoted(record.job_id)}")
            return None
        entry = record.entry
        level = entry.level if entry.level in _LOG_LEVELS else logs_pb2.LogEntry.info
        return JobLogRecord(
            id=entry.id if is_valid_id(entry.id, "log") else new_id("log"),
            job_id=record.job_id,
            timestamp=entry.timestamp or timestamp,
            level=logs_pb2.LogEntry.Level.Name(level),
            message=self._truncate(entry.message),
            operator_id=entry.operator_id[:_OPERATOR_ID_CHARS],
            task_index=entry.task_index,
            details=self._details(entry),
        )

    def _details(self, entry: logs_pb2.LogEntry) -> dict[str, Any]:
        """The entry's details, unless their JSON exceeds the text bound: then a note saying so."""
        details = json_format.MessageToDict(entry.details)
        size = len(json.dumps(details))
        if size > self._limits.record_text_chars:
            return {"truncated": f"{size} characters of details, more than {self._limits.record_text_chars}"}
        return details
