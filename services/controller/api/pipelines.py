"""PipelineService: create (and start), list, get, delete and validate pipelines."""

from __future__ import annotations

import asyncio

import grpc
from google.protobuf import empty_pb2
from opentelemetry import trace

from services import tracing
from services.api_errors import (
    ApiError,
    failed_precondition,
    invalid_argument,
    not_found,
    page_limit,
    page_offset,
    quoted,
    rpc,
)
from services.clock import now_ms
from services.controller.job_starter import JobStarter
from services.controller.job_views import JobViews
from services.controller.lifecycle.transitions import FINAL_STATES
from services.ids import is_valid_id, new_id
from services.paths import PathPolicy
from services.planner import PlanError, plan_query
from services.store import DEFAULT_CHECKPOINTS_RETAINED, JobQuery, PipelineRecord, Store
from weir.v1 import dataflow_pb2, jobs_pb2, pipelines_pb2, pipelines_pb2_grpc

MAX_NAME_LENGTH = 200
MAX_QUERY_BYTES = 64 * 1024
MAX_PARALLELISM = 64
DEFAULT_CHECKPOINT_INTERVAL_MS = 10_000
MIN_CHECKPOINT_INTERVAL_MS = 100
MAX_CHECKPOINT_INTERVAL_MS = 24 * 3600 * 1000
MAX_CHECKPOINTS_RETAINED = 100

tracer = trace.get_tracer(__name__)


def parallelism_of(
    message: pipelines_pb2.CreatePipelineRequest | pipelines_pb2.ValidatePipelineRequest,
) -> int:
    if not message.HasField("parallelism"):
        return 1
    if not 1 <= message.parallelism <= MAX_PARALLELISM:
        raise invalid_argument(
            f"parallelism must be between 1 and {MAX_PARALLELISM}, got {message.parallelism}"
        )
    return message.parallelism


def require_pipeline_id(pipeline_id: str) -> str:
    if not is_valid_id(pipeline_id, "pipe"):
        raise invalid_argument(
            f"malformed pipeline id {quoted(pipeline_id)}: expected pipe_ followed by 26 characters"
        )
    return pipeline_id


def plan(query: str, parallelism: int, paths: PathPolicy) -> dataflow_pb2.Dataflow:
    if not query.strip():
        raise invalid_argument("query must not be empty")
    if len(query.encode()) > MAX_QUERY_BYTES:
        raise invalid_argument(f"query is longer than {MAX_QUERY_BYTES} bytes")
    try:
        return plan_query(query, parallelism, paths)
    except PlanError as error:
        raise invalid_argument(f"invalid query: {error}") from error


async def plan_in_thread(query: str, parallelism: int, paths: PathPolicy) -> dataflow_pb2.Dataflow:
    """`plan`, in a thread: planning is CPU work (tens of milliseconds for a plan at the operator
    bound), and on the event loop it would hold up every other call, workers' heartbeats too."""
    return await asyncio.to_thread(plan, query, parallelism, paths)


def to_proto(record: PipelineRecord) -> pipelines_pb2.Pipeline:
    return pipelines_pb2.Pipeline(
        id=record.id,
        name=record.name,
        query=record.query,
        parallelism=record.parallelism,
        checkpoint_interval_ms=record.checkpoint_interval_ms,
        checkpoints_retained=record.checkpoints_retained,
        created_at=record.created_at,
        dataflow=dataflow_pb2.Dataflow.FromString(record.dataflow),
    )


class PipelineServicer(pipelines_pb2_grpc.PipelineServiceServicer):
    def __init__(self, store: Store, paths: PathPolicy, starter: JobStarter, views: JobViews) -> None:
        self._store = store
        self._paths = paths
        self._starter = starter
        self._views = views

    @rpc
    async def CreatePipeline(
        self, request: pipelines_pb2.CreatePipelineRequest, context: grpc.aio.ServicerContext
    ):
        # The root of a job's lifecycle trace (or a child of the caller's span, if it sent one):
        # the job's scheduling and its tasks' start continue it.
        with tracing.server_span(tracer, "CreatePipeline", context.invocation_metadata()):
            return await self._create_pipeline(request)

    async def _create_pipeline(self, request: pipelines_pb2.CreatePipelineRequest) -> pipelines_pb2.Pipeline:
        name = request.name.strip()
        if not name:
            raise invalid_argument("name must not be empty")
        if len(name) > MAX_NAME_LENGTH:
            raise invalid_argument(f"name is longer than {MAX_NAME_LENGTH} characters")
        parallelism = parallelism_of(request)
        interval = DEFAULT_CHECKPOINT_INTERVAL_MS
        if request.HasField("checkpoint_interval_ms"):
            interval = request.checkpoint_interval_ms
            if not MIN_CHECKPOINT_INTERVAL_MS <= interval <= MAX_CHECKPOINT_INTERVAL_MS:
                raise invalid_argument(
                    f"checkpoint_interval_ms must be between {MIN_CHECKPOINT_INTERVAL_MS} and "
                    f"{MAX_CHECKPOINT_INTERVAL_MS}, got {interval}"
                )
        retained = DEFAULT_CHECKPOINTS_RETAINED
        if request.HasField("checkpoints_retained"):
            retained = request.checkpoints_retained
            if not 1 <= retained <= MAX_CHECKPOINTS_RETAINED:
                raise invalid_argument(
                    f"checkpoints_retained must be between 1 and {MAX_CHECKPOINTS_RETAINED}, got {retained}"
                )
        dataflow = await plan_in_thread(request.query, parallelism, self._paths)
        record = PipelineRecord(
            id=new_id("pipe"),
            name=name,
            query=request.query,
            parallelism=parallelism,
            checkpoint_interval_ms=interval,
            checkpoints_retained=retained,
            created_at=now_ms(),
            dataflow=dataflow.SerializeToString(),
        )
        span = trace.get_current_span()
        span.set_attribute("pipeline.id", record.id)
        await asyncio.to_thread(self._store.create_pipeline, record)
        job = await self._starter.start(record, parallelism, dataflow)
        span.set_attribute("job.id", job.id)
        return to_proto(record)

    @rpc
    async def ListPipelines(
        self, request: pipelines_pb2.ListPipelinesRequest, context: grpc.aio.ServicerContext
    ):
        records, has_more = await asyncio.to_thread(
            self._store.list_pipelines, page_limit(request), page_offset(request.offset)
        )
        return pipelines_pb2.ListPipelinesResponse(data=[to_proto(r) for r in records], has_more=has_more)

    @rpc
    async def GetPipeline(self, request: pipelines_pb2.GetPipelineRequest, context: grpc.aio.ServicerContext):
        return to_proto(await self._pipeline(request.pipeline_id))

    @rpc
    async def DeletePipeline(
        self, request: pipelines_pb2.DeletePipelineRequest, context: grpc.aio.ServicerContext
    ):
        pipeline = await self._pipeline(request.pipeline_id)
        jobs, _ = await asyncio.to_thread(
            self._store.list_jobs, JobQuery(pipeline_id=pipeline.id, limit=1000)
        )
        active = [job.id for job in jobs if job.state not in FINAL_STATES]
        if active:
            raise failed_precondition(
                f"pipeline {pipeline.id} still has unfinished jobs {active}: stop them first"
            )
        await asyncio.to_thread(self._store.delete_pipeline, pipeline.id)
        return empty_pb2.Empty()

    @rpc
    async def ListPipelineJobs(
        self, request: pipelines_pb2.ListPipelineJobsRequest, context: grpc.aio.ServicerContext
    ):
        pipeline = await self._pipeline(request.pipeline_id)
        query = JobQuery(
            pipeline_id=pipeline.id, limit=page_limit(request), offset=page_offset(request.offset)
        )
        jobs, has_more = await asyncio.to_thread(self._store.list_jobs, query)
        return jobs_pb2.ListJobsResponse(data=await self._views.render(jobs), has_more=has_more)

    @rpc
    async def ValidatePipeline(
        self, request: pipelines_pb2.ValidatePipelineRequest, context: grpc.aio.ServicerContext
    ):
        parallelism = parallelism_of(request)
        try:
            dataflow = await plan_in_thread(request.query, parallelism, self._paths)
        except ApiError as error:
            cause = error.__cause__
            if isinstance(cause, PlanError):
                sql_error = pipelines_pb2.SqlError(
                    message=cause.message, line=cause.line, column=cause.column
                )
            else:
                sql_error = pipelines_pb2.SqlError(message=error.message)
            return pipelines_pb2.ValidatePipelineResponse(valid=False, errors=[sql_error])
        return pipelines_pb2.ValidatePipelineResponse(valid=True, dataflow=dataflow)

    async def _pipeline(self, pipeline_id: str) -> PipelineRecord:
        record = await asyncio.to_thread(self._store.get_pipeline, require_pipeline_id(pipeline_id))
        if record is None:
            raise not_found(f"pipeline {pipeline_id} not found")
        return record
