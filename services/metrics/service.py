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
from services.metrics.ingest import InvalidReport, ReportIngest
from services.metrics.limits import TelemetryLimits
from services.metrics.queries import MetricsQueries
from services.metrics.rate import monotonic_ms
from services.serving import Servicer
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
        worker can drop a report from its resend buffer once acknowledged."""
        async for report in request_iterator:
            try:
                acked = self._ingest.apply(report)
            except InvalidReport as error:
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))
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
    def __init__(self, queries: MetricsQueries) -> None:
        self._queries = queries

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
    def __init__(self, queries: MetricsQueries) -> None:
        self._queries = queries

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
    store: TelemetryStore | None = None,
    limits: TelemetryLimits | None = None,
    clock: Callable[[], float] = monotonic_ms,
) -> list[Servicer]:
    """The three services over one store, ready for `services.serving.start_server`.

    Pass `store` to share it (e.g. with the OpenTelemetry bridge); otherwise one is made
    from `limits` and `clock` (service-side monotonic milliseconds, replaceable in tests).
    """
    store = store or TelemetryStore(limits, clock)
    queries = MetricsQueries(store, catalog)
    ingest = ReportIngest(store)
    return [
        Servicer(
            telemetry_pb2_grpc.add_TelemetryServiceServicer_to_server,
            TelemetryServicer(ingest, queries),
            telemetry_pb2.DESCRIPTOR.services_by_name["TelemetryService"].full_name,
        ),
        Servicer(
            metrics_pb2_grpc.add_JobMetricsServiceServicer_to_server,
            JobMetricsServicer(queries),
            metrics_pb2.DESCRIPTOR.services_by_name["JobMetricsService"].full_name,
        ),
        Servicer(
            logs_pb2_grpc.add_JobLogServiceServicer_to_server,
            JobLogServicer(queries),
            logs_pb2.DESCRIPTOR.services_by_name["JobLogService"].full_name,
        ),
    ]
