"""JobService: list, get, stop and restart jobs.

A restart is a new job of the same pipeline (run_id + 1) restoring a completed checkpoint
of the restarted job: the one named by `checkpoint_id`, by default the latest one (see
checkpointing/restore_points.py), or none with `checkpoint_id: "none"`."""

from __future__ import annotations

import asyncio

import grpc
from opentelemetry import trace

from services import tracing
from services.api_errors import (
    declared_enum_value,
    failed_precondition,
    invalid_argument,
    not_found,
    page_limit,
    page_offset,
    quoted,
    rpc,
)
from services.clock import now_ms
from services.controller.api.pipelines import MAX_PARALLELISM, plan_in_thread
from services.controller.checkpointing.restore_points import NO_STATE, latest_restore_point
from services.controller.job_starter import JobStarter
from services.controller.job_views import JobViews, to_proto
from services.controller.lifecycle.states.stopping import DEFAULT_TIMEOUT_S
from services.controller.lifecycle.supervisor import JobSupervisors
from services.controller.lifecycle.transitions import FINAL_STATES
from services.ids import is_valid_id
from services.paths import PathPolicy
from services.store import CheckpointRecord, JobQuery, JobRecord, Store
from weir.v1 import jobs_pb2, jobs_pb2_grpc

SORT_FIELDS = ("id", "created_at", "start_time", "finish_time", "run_id", "state", "pipeline_id")
MAX_STOP_TIMEOUT_S = 3600

tracer = trace.get_tracer(__name__)


def parse_sort(sort: str) -> tuple[str, bool]:
    """`<field>[:asc|desc]` -> (field, descending); the default is newest first."""
    if not sort:
        return "created_at", True
    field, _, order = sort.partition(":")
    if field not in SORT_FIELDS:
        raise invalid_argument(f"cannot sort by {quoted(field)}: sort by one of {', '.join(SORT_FIELDS)}")
    if order not in ("", "asc", "desc"):
        raise invalid_argument(f"sort order must be asc or desc, got {quoted(order)}")
    return field, order != "asc"


def require_job_id(job_id: str) -> str:
    if not is_valid_id(job_id, "job"):
        raise invalid_argument(f"malformed job id {quoted(job_id)}: expected job_ followed by 26 characters")
    return job_id


class JobServicer(jobs_pb2_grpc.JobServiceServicer):
    def __init__(
        self,
        store: Store,
        supervisors: JobSupervisors,
        starter: JobStarter,
        views: JobViews,
        paths: PathPolicy,
    ) -> None:
        self._store = store
        self._supervisors = supervisors
        self._starter = starter
        self._views = views
        self._paths = paths

    @rpc
    async def ListJobs(self, request: jobs_pb2.ListJobsRequest, context: grpc.aio.ServicerContext):
        if request.pipeline_id and not is_valid_id(request.pipeline_id, "pipe"):
            raise invalid_argument(
                f"malformed pipeline_id {quoted(request.pipeline_id)}: "
                "expected pipe_ followed by 26 characters"
            )
        sort_field, descending = parse_sort(request.sort)
        query = JobQuery(
            pipeline_id=request.pipeline_id or None,
            state=(
                jobs_pb2.Job.State.Name(declared_enum_value(jobs_pb2.Job.State, request.state, "state"))
                if request.state
                else None
            ),
            running=request.running if request.HasField("running") else None,
            limit=page_limit(request),
            offset=page_offset(request.offset),
            sort_field=sort_field,
            descending=descending,
        )
        jobs, has_more = await asyncio.to_thread(self._store.list_jobs, query)
        return jobs_pb2.ListJobsResponse(data=await self._views.render(jobs), has_more=has_more)

    @rpc
    async def GetJob(self, request: jobs_pb2.GetJobRequest, context: grpc.aio.ServicerContext):
        job_id = require_job_id(request.job_id)
        # The id is all the counters need, so they are fetched while the store is read. Only
        # what the view shows is read: not the job's plan, nor its history.
        job, counters = await asyncio.gather(
            asyncio.to_thread(self._store.get_job_summary, job_id), self._views.counters([job_id])
        )
        if job is None:
            raise not_found(f"job {job_id} not found")
        return to_proto(job, counters.get(job_id))

    @rpc
    async def StopJob(self, request: jobs_pb2.StopJobRequest, context: grpc.aio.ServicerContext):
        job = await self._job(request.job_id)
        modes = jobs_pb2.StopJobRequest.Mode
        mode = modes.Name(declared_enum_value(modes, request.mode, "mode")) if request.mode else "checkpoint"
        timeout_s = (
            float(request.timeout_seconds) if request.HasField("timeout_seconds") else DEFAULT_TIMEOUT_S
        )
        if not 0 < timeout_s <= MAX_STOP_TIMEOUT_S:
            raise invalid_argument(
                f"timeout_seconds must be between 1 and {MAX_STOP_TIMEOUT_S}, got {timeout_s:.0f}"
            )
        if (
            job.state in FINAL_STATES
            or job.state == "Stopping"
            or not self._supervisors.is_supervised(job.id)
        ):
            raise failed_precondition(f"job {job.id} is {job.state}, not running: there is nothing to stop")
        await asyncio.to_thread(self._store.set_running_desired, job.id, False)
        self._supervisors.request_stop(job.id, mode, timeout_s)
        return jobs_pb2.StopJobResponse(
            message="Job stop initiated",
            # The worst case: the graceful stop times out and the escalation is given its own bound.
            expected_finish_time=now_ms() + timeout_s * 1000,
        )

    @rpc
    async def RestartJob(self, request: jobs_pb2.RestartJobRequest, context: grpc.aio.ServicerContext):
        # Like CreatePipeline, the root of the new job's lifecycle trace.
        with tracing.server_span(tracer, "RestartJob", context.invocation_metadata()):
            return await self._restart_job(request)

    async def _restart_job(self, request: jobs_pb2.RestartJobRequest) -> jobs_pb2.RestartJobResponse:
        job = await self._job(request.job_id)
        # Set once validated: a malformed id from a client does not go into the trace.
        span = trace.get_current_span()
        span.set_attribute("job.restarted_id", job.id)
        span.set_attribute("pipeline.id", job.pipeline_id)
        if job.state not in FINAL_STATES:
            raise failed_precondition(f"job {job.id} is {job.state}: stop it before restarting it")
        restore = await self._restore_point(job, request.checkpoint_id)
        pipeline = await asyncio.to_thread(self._store.get_pipeline, job.pipeline_id)
        if pipeline is None:
            raise not_found(f"pipeline {job.pipeline_id} of job {job.id} no longer exists")
        parallelism = job.parallelism
        if request.HasField("parallelism"):
            if not 1 <= request.parallelism <= MAX_PARALLELISM:
                raise invalid_argument(
                    f"parallelism must be between 1 and {MAX_PARALLELISM}, got {request.parallelism}"
                )
            parallelism = request.parallelism
        dataflow = await plan_in_thread(pipeline.query, parallelism, self._paths)
        new_job = await self._starter.start(
            pipeline, parallelism, dataflow, restore_checkpoint_id=restore.id if restore else None
        )
        span.set_attribute("job.id", new_job.id)
        return jobs_pb2.RestartJobResponse(message="Job restarted", new_job_id=new_job.id)

    async def _restore_point(self, job: JobRecord, checkpoint_id: str) -> CheckpointRecord | None:
        """The checkpoint a restart of `job` restores: the one asked for (a completed checkpoint
        of this job), none for `none`, by default the job's latest restore point."""
        if checkpoint_id == NO_STATE:
            return None
        if not checkpoint_id:
            return await asyncio.to_thread(latest_restore_point, self._store, job)
        if not is_valid_id(checkpoint_id, "chk"):
            raise invalid_argument(
                f"malformed checkpoint_id {quoted(checkpoint_id)}: expected chk_ followed by 26 characters, "
                f"or {NO_STATE!r} to restart without state"
            )
        checkpoint = await asyncio.to_thread(self._store.get_checkpoint, checkpoint_id)
        if checkpoint is None or checkpoint.job_id != job.id:
            raise not_found(f"checkpoint {checkpoint_id} not found for job {job.id}")
        if checkpoint.state != "completed":
            raise failed_precondition(
                f"checkpoint {checkpoint_id} of job {job.id} is {checkpoint.state}, not completed: "
                "only a completed checkpoint can be restored"
            )
        return checkpoint

    async def _job(self, job_id: str) -> JobRecord:
        job = await asyncio.to_thread(self._store.get_job, require_job_id(job_id))
        if job is None:
            raise not_found(f"job {job_id} not found")
        return job
