"""The answers of `JobMetricsService`, `JobLogService` and `SummarizeJobs`, from the
aggregates, the job catalog and (logs and errors) the store's `JobLogStore`.

The catalog decides what exists: a job unknown to it is NOT_FOUND even if telemetry for it
arrived, and a known job's operators are listed from its plan, with zeros for those that have
not reported yet. Job totals and group totals come from the telemetry roles (the same numbers
`SummarizeJobs` gives the controller), the operator lists of groups from the plan's kinds.
"""

from __future__ import annotations

import asyncio
import math

from google.api import httpbody_pb2
from google.protobuf import struct_pb2

from services.api_errors import (
    declared_enum_value,
    invalid_argument,
    not_found,
    page_limit,
    page_offset,
    quoted,
)
from services.ids import is_valid_id
from services.metrics.aggregates import Counters, JobAggregate, OperatorAggregate, TelemetryStore
from services.metrics.catalog import JobCatalog, OperatorInfo, OperatorKind
from services.metrics.output import render_csv, render_json
from services.metrics.preview import PreviewBuffer
from services.store import JobErrorRecord, JobLogRecord, JobLogStore
from weir.v1 import jobs_pb2, logs_pb2, metrics_pb2, telemetry_pb2

# Job ids per SummarizeJobs call: one page of the controller's job list.
MAX_SUMMARIZE_JOBS = 1000


def _job_counters(counters: Counters) -> jobs_pb2.JobCounters:
    return jobs_pb2.JobCounters(
        records_in=float(counters.records_in),
        records_out=float(counters.records_out),
        bytes_in=float(counters.bytes_in),
        bytes_out=float(counters.bytes_out),
        errors=float(counters.errors),
        warnings=float(counters.warnings),
    )


def _error_message(error: JobErrorRecord) -> logs_pb2.JobError:
    return logs_pb2.JobError(
        id=error.id,
        timestamp=error.timestamp,
        level=logs_pb2.JobError.Level.Value(error.level),
        operator_id=error.operator_id,
        task_index=error.task_index or 0,
        message=error.message,
        details=error.details,
        record=error.record,
    )


def _log_message(entry: JobLogRecord) -> logs_pb2.LogEntry:
    details = struct_pb2.Struct()
    details.update(dict(entry.details))
    return logs_pb2.LogEntry(
        id=entry.id,
        timestamp=entry.timestamp,
        level=logs_pb2.LogEntry.Level.Value(entry.level),
        operator_id=entry.operator_id,
        task_index=entry.task_index or 0,
        message=entry.message,
        details=details,
    )


def require_job_id(job_id: str) -> None:
    """Refuse a malformed id before it reaches the store (its text is cut: it is caller input)."""
    if not is_valid_id(job_id, "job"):
        raise invalid_argument(f"malformed job_id {quoted(job_id)}: expected job_ followed by 26 characters")


def require_finite_time(name: str, value: float) -> None:
    # NaN would match nothing and compare false with everything; infinities are no time.
    if not math.isfinite(value):
        raise invalid_argument(f"{name} must be a finite millisecond timestamp, got {value}")


class MetricsQueries:
    def __init__(self, store: TelemetryStore, catalog: JobCatalog, job_logs: JobLogStore) -> None:
        self._store = store
        self._catalog = catalog
        self._job_logs = job_logs

    async def _job(self, job_id: str) -> tuple[list[OperatorInfo], JobAggregate | None]:
        """The job's planned operators and its aggregate (None before any telemetry)."""
        require_job_id(job_id)
        operators = await self._catalog.get_job_operators(job_id)
        if operators is None:
            raise not_found(f"job {job_id} not found")
        return operators, self._store.job(job_id)

    def _operator(self, job: JobAggregate | None, operator_id: str) -> OperatorAggregate | None:
        return None if job is None else job.operators.get(operator_id)

    async def job_metrics(self, job_id: str) -> metrics_pb2.JobMetrics:
        operators, job = await self._job(job_id)
        response = metrics_pb2.JobMetrics()
        if job is not None:
            now = self._store.clock()
            totals = _job_counters(job.totals)
            response.records_in = totals.records_in
            response.records_out = totals.records_out
            response.bytes_in = totals.bytes_in
            response.bytes_out = totals.bytes_out
            response.errors = totals.errors
            response.warnings = totals.warnings
            response.latency_p50 = job.latency.percentile(0.50)
            response.latency_p95 = job.latency.percentile(0.95)
            response.latency_p99 = job.latency.percentile(0.99)
            response.throughput = job.rates[OperatorKind.SOURCE].per_second(now)
            response.backpressure = job.backpressure(now)
        for info in operators:
            aggregate = self._operator(job, info.operator_id)
            counters = aggregate.totals() if aggregate else Counters()
            response.operators.add(
                operator_id=info.operator_id,
                operator_name=info.operator_name or (aggregate.operator_name if aggregate else ""),
                records_in=float(counters.records_in),
                records_out=float(counters.records_out),
                errors=float(counters.errors),
            )
        return response

    async def operator_metrics(self, job_id: str, operator_id: str) -> metrics_pb2.OperatorMetrics:
        if not operator_id:
            raise invalid_argument("operator_id is required")
        operators, job = await self._job(job_id)
        info = next((op for op in operators if op.operator_id == operator_id), None)
        if info is None:
            raise not_found(f"operator {quoted(operator_id)} not found in job {job_id}")
        aggregate = self._operator(job, operator_id)
        counters = aggregate.totals() if aggregate else Counters()
        response = metrics_pb2.OperatorMetrics(
            operator_id=operator_id,
            operator_name=info.operator_name or (aggregate.operator_name if aggregate else ""),
            subtasks=info.parallelism,
            metrics=metrics_pb2.OperatorCounters(
                records_in=float(counters.records_in),
                records_out=float(counters.records_out),
                bytes_in=float(counters.bytes_in),
                bytes_out=float(counters.bytes_out),
                errors=float(counters.errors),
                warnings=float(counters.warnings),
            ),
        )
        subtasks = aggregate.subtasks if aggregate else {}
        if aggregate is not None:
            live = aggregate.live_subtasks(self._store.clock(), self._store.limits.window_ms)
            response.metrics.backpressure = max((s.backpressure_fraction for s in live), default=0.0)
            if live:
                response.metrics.idle_time_percent = 100.0 * sum(s.idle_fraction for s in live) / len(live)
        # Every planned subtask, plus any that reported beyond the plan (e.g. before a
        # rescale), so that the subtask rows always add up to the operator's totals.
        for index in sorted(set(range(info.parallelism)) | set(subtasks)):
            subtask = subtasks.get(index)
            response.subtask_metrics.add(
                subtask_index=index,
                records_in=float(subtask.counters.records_in) if subtask else 0.0,
                records_out=float(subtask.counters.records_out) if subtask else 0.0,
            )
        return response

    async def metric_groups(self, job_id: str) -> metrics_pb2.JobMetricGroups:
        operators, job = await self._job(job_id)
        response = metrics_pb2.JobMetricGroups()
        groups = {
            OperatorKind.SOURCE: response.sources,
            OperatorKind.SINK: response.sinks,
            OperatorKind.TRANSFORM: response.transforms,
        }
        for info in operators:
            groups[info.kind].operators.append(info.operator_id)
        if job is not None:
            now = self._store.clock()
            response.sources.total_records = float(job.totals.records_in)
            response.sinks.total_records = float(job.totals.records_out)
            response.transforms.total_records = float(
                sum(
                    op.totals().records_out
                    for op in job.operators.values()
                    if op.kind is OperatorKind.TRANSFORM
                )
            )
            for kind, group in groups.items():
                group.throughput = job.rates[kind].per_second(now)
        return response

    async def job_output(self, request: metrics_pb2.GetJobOutputRequest) -> httpbody_pb2.HttpBody:
        limit = page_limit(request)
        offset = page_offset(request.offset)
        if request.format not in (
            metrics_pb2.GetJobOutputRequest.FORMAT_UNSPECIFIED,
            metrics_pb2.GetJobOutputRequest.json,
            metrics_pb2.GetJobOutputRequest.csv,
        ):
            raise invalid_argument("format must be json or csv")
        operators, job = await self._job(request.job_id)
        operator_id = request.operator_id
        if operator_id:
            if all(op.operator_id != operator_id for op in operators):
                raise not_found(f"operator {quoted(operator_id)} not found in job {request.job_id}")
        else:
            operator_id = self._default_output_operator(operators, job)
        buffer: PreviewBuffer | None = job.previews.get(operator_id) if job else None
        rows = buffer.page(offset, limit) if buffer else []
        if request.format == metrics_pb2.GetJobOutputRequest.csv:
            return render_csv(rows)
        has_more = buffer is not None and len(buffer) > offset + limit
        return render_json(operator_id, rows, buffer.total_received if buffer else 0, has_more)

    @staticmethod
    def _default_output_operator(operators: list[OperatorInfo], job: JobAggregate | None) -> str:
        """Without `operator_id`: the first sink in plan order that has preview rows, else the
        first sink, else none."""
        sinks = [op.operator_id for op in operators if op.kind is OperatorKind.SINK]
        with_rows = [op_id for op_id in sinks if job is not None and op_id in job.previews]
        return (with_rows or sinks or [""])[0]

    async def job_errors(self, request: logs_pb2.ListJobErrorsRequest) -> logs_pb2.ListJobErrorsResponse:
        limit = page_limit(request)
        declared_enum_value(logs_pb2.JobError.Level, request.level, "level")
        await self._job(request.job_id)
        errors, has_more = await asyncio.to_thread(
            self._job_logs.list_errors,
            request.job_id,
            level=logs_pb2.JobError.Level.Name(request.level) if request.level else None,
            operator_id=request.operator_id or None,
            limit=limit,
        )
        return logs_pb2.ListJobErrorsResponse(data=[_error_message(e) for e in errors], has_more=has_more)

    async def job_logs(self, request: logs_pb2.ListJobLogsRequest) -> logs_pb2.ListJobLogsResponse:
        limit = page_limit(request)
        declared_enum_value(logs_pb2.LogEntry.Level, request.level, "level")
        if request.HasField("task_index") and request.task_index < 0:
            raise invalid_argument(f"task_index must not be negative, got {request.task_index}")
        for bound in ("since", "until"):
            if request.HasField(bound):
                require_finite_time(bound, getattr(request, bound))
        if request.HasField("since") and request.HasField("until") and request.until < request.since:
            raise invalid_argument("until must not be before since")
        await self._job(request.job_id)
        entries, has_more = await asyncio.to_thread(
            self._job_logs.list_logs,
            request.job_id,
            level=logs_pb2.LogEntry.Level.Name(request.level) if request.level else None,
            operator_id=request.operator_id or None,
            task_index=request.task_index if request.HasField("task_index") else None,
            since=request.since if request.HasField("since") else None,
            until=request.until if request.HasField("until") else None,
            limit=limit,
        )
        return logs_pb2.ListJobLogsResponse(data=[_log_message(e) for e in entries], has_more=has_more)

    def summarize(self, request: telemetry_pb2.SummarizeJobsRequest) -> telemetry_pb2.SummarizeJobsResponse:
        """Totals of the given jobs that have telemetry; others are absent (zero to the caller)."""
        if len(request.job_ids) > MAX_SUMMARIZE_JOBS:
            raise invalid_argument(
                f"at most {MAX_SUMMARIZE_JOBS} job_ids per call, got {len(request.job_ids)}"
            )
        response = telemetry_pb2.SummarizeJobsResponse()
        for job_id in request.job_ids:
            job = self._store.job(job_id)
            if job is not None:
                response.counters[job_id].CopyFrom(_job_counters(job.totals))
        return response
