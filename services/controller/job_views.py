"""How a stored job looks through the API: the record, plus its counters from the metrics
service. Counters are best effort: when the metrics service is unreachable the job is still
shown, with zero counters, rather than failing the call."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import grpc

from services.store import JobSummary
from weir.v1 import jobs_pb2, telemetry_pb2, telemetry_pb2_grpc

log = logging.getLogger(__name__)

COUNTERS_TIMEOUT_S = 2.0


class JobViews:
    def __init__(self, metrics: telemetry_pb2_grpc.TelemetryServiceStub) -> None:
        self._metrics = metrics

    async def render(self, jobs: Sequence[JobSummary]) -> list[jobs_pb2.Job]:
        counters = await self.counters([job.id for job in jobs])
        return [to_proto(job, counters.get(job.id)) for job in jobs]

    async def counters(self, job_ids: list[str]) -> dict[str, jobs_pb2.JobCounters]:
        """The jobs' counters by job id; jobs the metrics service does not know are left out."""
        if not job_ids:
            return {}
        try:
            response = await self._metrics.SummarizeJobs(
                telemetry_pb2.SummarizeJobsRequest(job_ids=job_ids), timeout=COUNTERS_TIMEOUT_S
            )
        except grpc.aio.AioRpcError as error:
            log.warning("metrics service unavailable for job counters: %s", error.details())
            return {}
        return dict(response.counters)


def to_proto(job: JobSummary, counters: jobs_pb2.JobCounters | None) -> jobs_pb2.Job:
    message = jobs_pb2.Job(
        id=job.id,
        pipeline_id=job.pipeline_id,
        running_desired=job.running_desired,
        state=jobs_pb2.Job.State.Value(job.state),
        run_id=job.run_id,
        tasks=job.tasks,
        created_at=job.created_at,
        metrics=counters or jobs_pb2.JobCounters(),
    )
    if job.start_time is not None:
        message.start_time = job.start_time
    if job.finish_time is not None:
        message.finish_time = job.finish_time
    if job.failure_message is not None:
        message.failure_message = job.failure_message
    return message
