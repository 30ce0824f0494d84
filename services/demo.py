"""The demo pipeline `weir up --demo` (and so `make run`) starts: an impulse source through a
filter and a projection into the preview sink, so every endpoint has something to show."""

from __future__ import annotations

from services.serving import insecure_channel
from weir.v1 import jobs_pb2, pipelines_pb2, pipelines_pb2_grpc

DEMO_NAME = "demo"
DEMO_QUERY = """CREATE TABLE impulse WITH (connector = 'impulse', event_rate = '1000');
SELECT counter, subtask_index, counter % 10 AS bucket
FROM impulse
WHERE counter % 2 = 0"""


async def ensure_demo_pipeline(controller_address: str) -> str:
    """Create the demo pipeline unless a previous `weir up` in the same data dir did; return
    the ID of its newest job (which the controller resumes by itself)."""
    async with insecure_channel(controller_address) as channel:
        stub = pipelines_pb2_grpc.PipelineServiceStub(channel)
        existing = await stub.ListPipelines(pipelines_pb2.ListPipelinesRequest(limit=1000), timeout=10)
        for pipeline in existing.data:
            if pipeline.name == DEMO_NAME:
                jobs: jobs_pb2.ListJobsResponse = await stub.ListPipelineJobs(
                    pipelines_pb2.ListPipelineJobsRequest(pipeline_id=pipeline.id, limit=1), timeout=10
                )
                if jobs.data:
                    return jobs.data[0].id
        created = await stub.CreatePipeline(
            pipelines_pb2.CreatePipelineRequest(name=DEMO_NAME, query=DEMO_QUERY, parallelism=2), timeout=10
        )
        jobs = await stub.ListPipelineJobs(
            pipelines_pb2.ListPipelineJobsRequest(pipeline_id=created.id, limit=1), timeout=10
        )
        return jobs.data[0].id
