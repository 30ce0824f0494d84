"""In-test servicers of the public services (see harness.py for why fakes are right here).

Each records the requests and metadata it received, so tests can check what the gateway
sent, and answers canned responses chosen to exercise the JSON rules: unset optional fields,
large integral doubles, Structs, an HttpBody, errors with and without rich details.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import grpc
from google.api import httpbody_pb2
from google.protobuf import any_pb2, struct_pb2
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2

from services.contract.json_rendering import message_to_json
from services.serving import Servicer
from weir.v1 import jobs_pb2, jobs_pb2_grpc, logs_pb2, logs_pb2_grpc, metrics_pb2, metrics_pb2_grpc

JOB_ID = "job_9876543210"
MISSING_WITH_DETAILS = "job_missing"
SLOW_JOB_ID = "job_slow"
# GetJob("fail_with_NOT_FOUND") fails with that status code.
FAIL_WITH_PREFIX = "fail_with_"
CSV = b"id,message\n1,Test message\n"


def sample_job() -> jobs_pb2.Job:
    """The spec's job: running, with `finish_time` and `failure_message` unset."""
    return jobs_pb2.Job(
        id=JOB_ID,
        pipeline_id="pipe_1234567890",
        running_desired=True,
        state=jobs_pb2.Job.Running,
        run_id=3,
        start_time=1704067200000,
        tasks=4,
        created_at=1704067200000,
        metrics=jobs_pb2.JobCounters(
            records_in=1000000, records_out=950000, bytes_in=104857600, bytes_out=99614720, warnings=5
        ),
    )


SAMPLE_JOB_JSON = (
    '{"id":"job_9876543210","pipeline_id":"pipe_1234567890","running_desired":true,"state":"Running",'
    '"run_id":3,"start_time":1704067200000,"finish_time":null,"tasks":4,"failure_message":null,'
    '"created_at":1704067200000,"metrics":{"records_in":1000000,"records_out":950000,'
    '"bytes_in":104857600,"bytes_out":99614720,"errors":0,"warnings":5}}'
)


@dataclass
class Recorder:
    """What a fake backend received, in arrival order."""

    requests: list[Message] = field(default_factory=list)
    metadata: list[dict[str, str | bytes]] = field(default_factory=list)

    def record(self, request: Message, context: grpc.aio.ServicerContext) -> None:
        self.requests.append(request)
        self.metadata.append(dict(context.invocation_metadata() or ()))

    def last(self) -> Message:
        return self.requests[-1]


def not_found_details(job_id: str) -> bytes:
    detail = any_pb2.Any()
    detail.Pack(
        error_details_pb2.ErrorInfo(reason="JOB_NOT_FOUND", domain="weir", metadata={"job_id": job_id})
    )
    status = status_pb2.Status(code=grpc.StatusCode.NOT_FOUND.value[0], message=f"job {job_id} not found")
    status.details.append(detail)
    return status.SerializeToString()


class FakeJobService(jobs_pb2_grpc.JobServiceServicer):
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    async def ListJobs(
        self, request: jobs_pb2.ListJobsRequest, context: grpc.aio.ServicerContext
    ) -> jobs_pb2.ListJobsResponse:
        self.recorder.record(request, context)
        return jobs_pb2.ListJobsResponse(data=[sample_job()], has_more=False)

    async def GetJob(
        self, request: jobs_pb2.GetJobRequest, context: grpc.aio.ServicerContext
    ) -> jobs_pb2.Job:
        self.recorder.record(request, context)
        if request.job_id == SLOW_JOB_ID:
            await asyncio.Event().wait()  # Never answers: only the caller's deadline ends this call.
        if request.job_id.startswith(FAIL_WITH_PREFIX):
            code = grpc.StatusCode[request.job_id.removeprefix(FAIL_WITH_PREFIX)]
            await context.abort(code, f"failed with {code.name}")
        if request.job_id == MISSING_WITH_DETAILS:
            await context.abort(
                grpc.StatusCode.NOT_FOUND,
                f"job {request.job_id} not found",
                trailing_metadata=(("grpc-status-details-bin", not_found_details(request.job_id)),),
            )
        if request.job_id != JOB_ID:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"job {request.job_id} not found")
        await context.send_initial_metadata((("x-served-by", "fake-controller"),))
        return sample_job()

    async def StopJob(
        self, request: jobs_pb2.StopJobRequest, context: grpc.aio.ServicerContext
    ) -> jobs_pb2.StopJobResponse:
        self.recorder.record(request, context)
        if request.mode == jobs_pb2.StopJobRequest.force and request.timeout_seconds > 60:
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, "force stops do not wait that long")
        return jobs_pb2.StopJobResponse(message="Job stop initiated", expected_finish_time=1704067230000)


class FakeJobMetricsService(metrics_pb2_grpc.JobMetricsServiceServicer):
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    async def GetJobOutput(
        self, request: metrics_pb2.GetJobOutputRequest, context: grpc.aio.ServicerContext
    ) -> httpbody_pb2.HttpBody:
        self.recorder.record(request, context)
        if request.format == metrics_pb2.GetJobOutputRequest.csv:
            return httpbody_pb2.HttpBody(content_type="text/csv", data=CSV)
        record = struct_pb2.Struct()
        record.update({"id": 1, "message": "Test message", "value": 99.99})
        output = metrics_pb2.JobOutput(
            data=[metrics_pb2.OutputRecord(timestamp=1704067200000, record=record)],
            operator_id="sink_1",
            total_records=1000,
        )
        return httpbody_pb2.HttpBody(content_type="application/json", data=message_to_json(output).encode())

    async def GetJobMetrics(
        self, request: metrics_pb2.GetJobMetricsRequest, context: grpc.aio.ServicerContext
    ) -> metrics_pb2.JobMetrics:
        self.recorder.record(request, context)
        return metrics_pb2.JobMetrics(records_in=1000000, latency_p50=45, backpressure=0.15)


class FakeJobLogService(logs_pb2_grpc.JobLogServiceServicer):
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    async def ListJobLogs(
        self, request: logs_pb2.ListJobLogsRequest, context: grpc.aio.ServicerContext
    ) -> logs_pb2.ListJobLogsResponse:
        self.recorder.record(request, context)
        entry = logs_pb2.LogEntry(
            id="log_123",
            timestamp=1704067200000,
            level=logs_pb2.LogEntry.info,
            operator_id="source_1",
            message="Connected to Kafka broker",
        )
        entry.details.update({"broker": "localhost:9092", "partitions": 12, "lag_ms": 1704067200000})
        return logs_pb2.ListJobLogsResponse(data=[entry])


def controller_servicers(recorder: Recorder) -> list[Servicer]:
    return [
        Servicer(
            jobs_pb2_grpc.add_JobServiceServicer_to_server, FakeJobService(recorder), "weir.v1.JobService"
        )
    ]


def metrics_servicers(recorder: Recorder) -> list[Servicer]:
    return [
        Servicer(
            metrics_pb2_grpc.add_JobMetricsServiceServicer_to_server,
            FakeJobMetricsService(recorder),
            "weir.v1.JobMetricsService",
        ),
        Servicer(
            logs_pb2_grpc.add_JobLogServiceServicer_to_server,
            FakeJobLogService(recorder),
            "weir.v1.JobLogService",
        ),
    ]
