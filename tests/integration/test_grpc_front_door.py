"""The same platform through its public gRPC front door, as a gRPC client in any language would."""

from __future__ import annotations

import grpc
import pytest

from tests.conftest import RunningPlatform, wait_for
from weir.v1 import jobs_pb2, jobs_pb2_grpc, pipelines_pb2, pipelines_pb2_grpc

QUERY = """CREATE TABLE impulse WITH (connector = 'impulse', event_rate = '1000');
SELECT counter FROM impulse"""


def test_create_list_get_over_grpc(platform: RunningPlatform) -> None:
    with grpc.insecure_channel(platform.grpc_address) as channel:
        pipelines = pipelines_pb2_grpc.PipelineServiceStub(channel)
        jobs = jobs_pb2_grpc.JobServiceStub(channel)
        pipeline = pipelines.CreatePipeline(
            pipelines_pb2.CreatePipelineRequest(name="grpc", query=QUERY, parallelism=1), timeout=10
        )
        listed = jobs.ListJobs(jobs_pb2.ListJobsRequest(pipeline_id=pipeline.id), timeout=10)
        assert len(listed.data) == 1
        job_id = listed.data[0].id

        def running() -> jobs_pb2.Job | None:
            job = jobs.GetJob(jobs_pb2.GetJobRequest(job_id=job_id), timeout=10)
            return job if job.state == jobs_pb2.Job.Running and job.metrics.records_in > 0 else None

        job = wait_for(running, what="job Running with records over gRPC")
        assert job.HasField("start_time") and not job.HasField("finish_time")

        with pytest.raises(grpc.RpcError) as missing:
            jobs.GetJob(jobs_pb2.GetJobRequest(job_id="job_01ARZ3NDEKTSV4RRFFQ69G5FAV"), timeout=10)
        assert missing.value.code() == grpc.StatusCode.NOT_FOUND

        with pytest.raises(grpc.RpcError) as bad_sql:
            pipelines.CreatePipeline(
                pipelines_pb2.CreatePipelineRequest(name="x", query="SELEC 1"), timeout=10
            )
        assert bad_sql.value.code() == grpc.StatusCode.INVALID_ARGUMENT

        filtered = jobs.ListJobs(
            jobs_pb2.ListJobsRequest(state=jobs_pb2.Job.Running, running=True), timeout=10
        )
        assert job_id in [j.id for j in filtered.data]
        jobs.StopJob(jobs_pb2.StopJobRequest(job_id=job_id, mode=jobs_pb2.StopJobRequest.force), timeout=10)
