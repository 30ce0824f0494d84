"""The internal plane of a real `weir up`: a stranger process (this test, which never had
the cluster secret) can neither register a worker, nor feed telemetry, nor command a worker,
while the platform's own processes (which got the secret from `weir up`) work normally."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import grpc
import pytest

from services.security.cluster_secret import ENV_VAR, METADATA_KEY
from tests.conftest import wait_for
from tests.security.conftest import SecuredPlatform
from weir.v1 import (
    control_plane_pb2,
    control_plane_pb2_grpc,
    jobs_pb2,
    jobs_pb2_grpc,
    pipelines_pb2,
    pipelines_pb2_grpc,
    telemetry_pb2,
    telemetry_pb2_grpc,
    worker_pb2,
    worker_pb2_grpc,
)

WRONG = ((METADATA_KEY, "a-guess-that-is-long-enough-to-be-a-secret"),)
QUERY = "CREATE TABLE impulse WITH (connector = 'impulse', event_rate = '200');\nSELECT counter FROM impulse"

StrangerCall = Callable[[grpc.Channel, tuple[tuple[str, str], ...]], object]


def register_worker(channel: grpc.Channel, metadata: tuple[tuple[str, str], ...]) -> object:
    request = control_plane_pb2.RegisterWorkerRequest(address="127.0.0.1:1", pid=1, slots=64)
    return control_plane_pb2_grpc.ControlPlaneServiceStub(channel).RegisterWorker(
        request, metadata=metadata, timeout=10
    )


def heartbeat(channel: grpc.Channel, metadata: tuple[tuple[str, str], ...]) -> object:
    request = control_plane_pb2.HeartbeatRequest(worker_id="wrk_01ARZ3NDEKTSV4RRFFQ69G5FAV")
    return control_plane_pb2_grpc.ControlPlaneServiceStub(channel).Heartbeat(
        request, metadata=metadata, timeout=10
    )


def report_telemetry(channel: grpc.Channel, metadata: tuple[tuple[str, str], ...]) -> object:
    reports = iter([telemetry_pb2.ReportRequest(worker_id="wrk_01ARZ3NDEKTSV4RRFFQ69G5FAV", seq=1)])
    return list(
        telemetry_pb2_grpc.TelemetryServiceStub(channel).Report(reports, metadata=metadata, timeout=10)
    )


def summarize_jobs(channel: grpc.Channel, metadata: tuple[tuple[str, str], ...]) -> object:
    return telemetry_pb2_grpc.TelemetryServiceStub(channel).SummarizeJobs(
        telemetry_pb2.SummarizeJobsRequest(), metadata=metadata, timeout=10
    )


def start_tasks(channel: grpc.Channel, metadata: tuple[tuple[str, str], ...]) -> object:
    return worker_pb2_grpc.WorkerServiceStub(channel).StartTasks(
        worker_pb2.StartTasksRequest(job_id="job_01ARZ3NDEKTSV4RRFFQ69G5FAV"), metadata=metadata, timeout=10
    )


def stop_tasks(channel: grpc.Channel, metadata: tuple[tuple[str, str], ...]) -> object:
    return worker_pb2_grpc.WorkerServiceStub(channel).StopTasks(
        worker_pb2.StopTasksRequest(), metadata=metadata, timeout=10
    )


def report_task_event(channel: grpc.Channel, metadata: tuple[tuple[str, str], ...]) -> object:
    """A forged task failure would send a running job into recovery."""
    event = control_plane_pb2.TaskEvent(
        job_id="job_01ARZ3NDEKTSV4RRFFQ69G5FAV",
        task_id="source_1.0",
        kind=control_plane_pb2.TaskEvent.KIND_FAILED,
        message="forged",
    )
    return control_plane_pb2_grpc.ControlPlaneServiceStub(channel).ReportTaskEvent(
        control_plane_pb2.ReportTaskEventRequest(event=event), metadata=metadata, timeout=10
    )


def report_checkpoint(channel: grpc.Channel, metadata: tuple[tuple[str, str], ...]) -> object:
    return control_plane_pb2_grpc.ControlPlaneServiceStub(channel).ReportCheckpoint(
        control_plane_pb2.ReportCheckpointRequest(job_id="job_01ARZ3NDEKTSV4RRFFQ69G5FAV"),
        metadata=metadata,
        timeout=10,
    )


def trigger_checkpoint(channel: grpc.Channel, metadata: tuple[tuple[str, str], ...]) -> object:
    return worker_pb2_grpc.WorkerServiceStub(channel).TriggerCheckpoint(
        worker_pb2.TriggerCheckpointRequest(job_id="job_01ARZ3NDEKTSV4RRFFQ69G5FAV"),
        metadata=metadata,
        timeout=10,
    )


def commit_checkpoint(channel: grpc.Channel, metadata: tuple[tuple[str, str], ...]) -> object:
    return worker_pb2_grpc.WorkerServiceStub(channel).CommitCheckpoint(
        worker_pb2.CommitCheckpointRequest(job_id="job_01ARZ3NDEKTSV4RRFFQ69G5FAV"),
        metadata=metadata,
        timeout=10,
    )


STRANGER_CALLS: list[tuple[str, StrangerCall]] = [
    ("controller", register_worker),
    ("controller", heartbeat),
    ("controller", report_task_event),
    ("controller", report_checkpoint),
    ("metrics", report_telemetry),
    ("metrics", summarize_jobs),
    ("worker-0", start_tasks),
    ("worker-0", stop_tasks),
    ("worker-0", trigger_checkpoint),
    ("worker-0", commit_checkpoint),
]


@pytest.mark.parametrize(("child", "call"), STRANGER_CALLS, ids=[c.__name__ for _, c in STRANGER_CALLS])
def test_a_stranger_is_refused_on_the_internal_plane(
    secured: SecuredPlatform, child: str, call: StrangerCall
) -> None:
    admin = (("authorization", f"Bearer {secured.admin_token}"),)
    with grpc.insecure_channel(secured.internal_address(child)) as channel:
        # An admin API token is no substitute for the cluster secret.
        for metadata in ((), WRONG, admin):
            with pytest.raises(grpc.RpcError) as refused:
                call(channel, metadata)
            assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED, refused.value


def test_no_stranger_worker_was_registered(secured: SecuredPlatform) -> None:
    with secured.client(secured.read_token) as client:
        workers = client.get("/api/v1/workers").json()["data"]
    assert [w for w in workers if w["address"] == "127.0.0.1:1"] == []
    assert len(workers) == 1


def child_pids(secured: SecuredPlatform) -> list[int]:
    return secured.running.child_pids()


def test_the_secret_is_in_the_childrens_environment_never_on_a_command_line(secured: SecuredPlatform) -> None:
    """A command line is world-readable in /proc; an environment only to the same user."""
    pids = child_pids(secured)
    assert len(pids) >= 4  # metrics, controller, gateway, a worker
    secrets_seen = set()
    for pid in pids:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        values = [entry.split(b"=", 1)[1] for entry in environ if entry.startswith(ENV_VAR.encode() + b"=")]
        assert len(values) == 1, pid
        secrets_seen.add(values[0])
        assert values[0] not in Path(f"/proc/{pid}/cmdline").read_bytes()
    assert len(secrets_seen) == 1
    # And it is what opens the internal plane: with it, the same call goes through.
    with grpc.insecure_channel(secured.internal_address("controller")) as channel:
        answer = heartbeat(channel, ((METADATA_KEY, secrets_seen.pop().decode()),))
    assert isinstance(answer, control_plane_pb2.HeartbeatResponse) and not answer.known


def test_the_platforms_own_processes_use_the_internal_plane(secured: SecuredPlatform) -> None:
    """Assignment (controller -> worker) and telemetry (worker -> metrics -> controller) work."""
    admin = (("authorization", f"Bearer {secured.admin_token}"),)
    with grpc.insecure_channel(secured.grpc_address) as channel:
        pipelines = pipelines_pb2_grpc.PipelineServiceStub(channel)
        jobs = jobs_pb2_grpc.JobServiceStub(channel)
        pipeline = pipelines.CreatePipeline(
            pipelines_pb2.CreatePipelineRequest(name="internal-plane", query=QUERY, parallelism=1),
            metadata=admin,
            timeout=10,
        )
        job_id = (
            jobs.ListJobs(jobs_pb2.ListJobsRequest(pipeline_id=pipeline.id), metadata=admin, timeout=10)
            .data[0]
            .id
        )

        def counting() -> bool:
            job = jobs.GetJob(jobs_pb2.GetJobRequest(job_id=job_id), metadata=admin, timeout=10)
            return job.state == jobs_pb2.Job.Running and job.metrics.records_in > 0

        wait_for(counting, what="the job Running with records counted by telemetry")
        jobs.StopJob(
            jobs_pb2.StopJobRequest(job_id=job_id, mode=jobs_pb2.StopJobRequest.immediate),
            metadata=admin,
            timeout=10,
        )
