"""The gRPC servicers of the metrics service: thin adapters from RPCs to `ReportIngest` and
`MetricsQueries`, with input errors turned into statuses by `services.api_errors.rpc`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable

import grpc
from google.api import httpbody_pb2

from services.api_errors import rpc
from services.metrics.aggregates import TelemetryStore
from services.metrics.catalog import JobCatalog
from services.metrics.ingest import INCARNATION_METADATA_KEY, InvalidReport, ReportIngest
from services.metrics.job_log_writer import JobLogWriteFailed, JobLogWriter
from services.metrics.limits import TelemetryLimits
from services.metrics.live_views import LiveViews, LiveViewTiming, serve_stream
from services.metrics.queries import MetricsQueries
from services.metrics.rate import monotonic_ms
from services.serving import Servicer
from services.store import JobLogStore
from weir.v1 import (
    logs_pb2,
    logs_pb2_grpc,
    metrics_pb2,
    metrics_pb2_grpc,
    telemetry_pb2,
    telemetry_pb2_grpc,
)

log = logging.getLogger(__name__)


class TelemetryServicer(telemetry_pb2_grpc.TelemetryServiceServicer):
    def __init__(self, ingest: ReportIngest, queries: MetricsQueries) -> None:
        self._ingest = ingest
        self._queries = queries

    async def Report(
        self,
        request_iterator: AsyncIterator[telemetry_pb2.ReportRequest],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[telemetry_pb2.ReportResponse]:
        """Apply each report as it arrives and acknowledge it before reading the next, so the
        worker can drop a report from its resend buffer once acknowledged. The incarnation goes
        first: a worker sends nothing before it knows whether this process lost its reports."""
        await context.send_initial_metadata(((INCARNATION_METADATA_KEY, self._ingest.incarnation),))
        async for report in request_iterator:
            try:
                acked = await self._ingest.apply(report)
            except InvalidReport as error:
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))
            except JobLogWriteFailed as error:
                # Not acknowledged, so the worker resends the report after reconnecting.
                await context.abort(grpc.StatusCode.UNAVAILABLE, str(error))
            except Exception:
                log.exception("applying report %d of worker %s failed", report.seq, report.worker_id)
                await context.abort(grpc.StatusCode.INTERNAL, "internal error applying a report")
            yield telemetry_pb2.ReportResponse(acked_seq=acked)

    @rpc
    async def SummarizeJobs(
        self, request: telemetry_pb2.SummarizeJobsRequest, context: grpc.aio.ServicerContext
    ) -> telemetry_pb2.SummarizeJobsResponse:
        return self._queries.summarize(request)


class JobMetricsServicer(metrics_pb2_grpc.JobMetricsServiceServicer):
    def __init__(self, queries: MetricsQueries, live: LiveViews) -> None:
        self._queries = queries
        self._live = live

    async def WatchJob(
        self, request: metrics_pb2.WatchJobRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[metrics_pb2.JobWatchEvent]:
        async for event in serve_stream(self._live.watch_job(request.job_id), context, "WatchJob"):
            yield event

    @rpc
    async def GetJobMetrics(
        self, request: metrics_pb2.GetJobMetricsRequest, context: grpc.aio.ServicerContext
    ) -> metrics_pb2.JobMetrics:
        return await self._queries.job_metrics(request.job_id)

    @rpc
    async def GetOperatorMetrics(
        self, request: metrics_pb2.GetOperatorMetricsRequest, context: grpc.aio.ServicerContext
    ) -> metrics_pb2.OperatorMetrics:
        return await self._queries.operator_metrics(request.job_id, request.operator_id)

    @rpc
    async def GetJobMetricGroups(
        self, request: metrics_pb2.GetJobMetricGroupsRequest, context: grpc.aio.ServicerContext
    ) -> metrics_pb2.JobMetricGroups:
        return await self._queries.metric_groups(request.job_id)

    @rpc
    async def GetJobOutput(
        self, request: metrics_pb2.GetJobOutputRequest, context: grpc.aio.ServicerContext
    ) -> httpbody_pb2.HttpBody:
        return await self._queries.job_output(request)


class JobLogServicer(logs_pb2_grpc.JobLogServiceServicer):
    def __init__(self, queries: MetricsQueries, live: LiveViews) -> None:
        self._queries = queries
        self._live = live

    async def TailJobLogs(
        self, request: logs_pb2.TailJobLogsRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[logs_pb2.LogEntry]:
        entries = self._live.tail_logs(request, started=lambda: context.send_initial_metadata(()))
        async for entry in serve_stream(entries, context, "TailJobLogs"):
            yield entry

    @rpc
    async def ListJobErrors(
        self, request: logs_pb2.ListJobErrorsRequest, context: grpc.aio.ServicerContext
    ) -> logs_pb2.ListJobErrorsResponse:
        return await self._queries.job_errors(request)

    @rpc
    async def ListJobLogs(
        self, request: logs_pb2.ListJobLogsRequest, context: grpc.aio.ServicerContext
    ) -> logs_pb2.ListJobLogsResponse:
        return await self._queries.job_logs(request)


def metrics_servicers(
    catalog: JobCatalog,
    job_logs: JobLogStore,
    store: TelemetryStore | None = None,
    limits: TelemetryLimits | None = None,
    clock: Callable[[], float] = monotonic_ms,
    live_timing: LiveViewTiming | None = None,
) -> list[Servicer]:
    """The three services over one store, ready for `services.serving.start_server`; logs
    and errors are kept in `job_logs`.

    Pass `store` to share it (e.g. with the OpenTelemetry bridge); otherwise one is made
    from `limits` and `clock` (service-side monotonic milliseconds, replaceable in tests).
    """
    store = store or TelemetryStore(limits, clock)
    queries = MetricsQueries(store, catalog, job_logs)
    ingest = ReportIngest(store, JobLogWriter(job_logs))
    live = LiveViews(queries, catalog, live_timing)
    return [
        Servicer(
            telemetry_pb2_grpc.add_TelemetryServiceServicer_to_server,
            TelemetryServicer(ingest, queries),
            telemetry_pb2.DESCRIPTOR.services_by_name["TelemetryService"].full_name,
        ),
        Servicer(
            metrics_pb2_grpc.add_JobMetricsServiceServicer_to_server,
            JobMetricsServicer(queries, live),
            metrics_pb2.DESCRIPTOR.services_by_name["JobMetricsService"].full_name,
        ),
        Servicer(
            logs_pb2_grpc.add_JobLogServiceServicer_to_server,
            JobLogServicer(queries, live),
            logs_pb2.DESCRIPTOR.services_by_name["JobLogService"].full_name,
        ),
    ]
