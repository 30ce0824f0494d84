"""The controller process: serves the public job/pipeline/checkpoint/cluster API and the
internal control plane, and resumes every unfinished job from the store on start."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path

from services import tracing
from services.clock import now_ms
from services.controller.api.checkpoints import CheckpointServicer
from services.controller.api.cluster import ClusterServicer
from services.controller.api.control_plane import ControlPlaneServicer
from services.controller.api.jobs import JobServicer
from services.controller.api.pipelines import PipelineServicer
from services.controller.job_starter import JobStarter
from services.controller.job_views import JobViews
from services.controller.lifecycle.supervisor import JobSupervisors
from services.controller.workers import WorkerRegistry
from services.paths import PathPolicy
from services.serving import Servicer, insecure_channel, start_server, wait_for_termination_signal
from services.store import Store
from weir.v1 import (
    checkpoints_pb2_grpc,
    cluster_pb2_grpc,
    control_plane_pb2_grpc,
    dataflow_pb2,
    jobs_pb2_grpc,
    pipelines_pb2_grpc,
    telemetry_pb2_grpc,
)

log = logging.getLogger(__name__)

# A job that was actively running when a controller stopped is recovered; these are the
# states in which its tasks may still exist somewhere.
ACTIVE_STATES = frozenset({"Scheduling", "Running", "Recovering", "Rescaling"})


@dataclass(frozen=True)
class ControllerConfig:
    database_url: str
    metrics_address: str
    allowed_paths: list[Path] = field(default_factory=list)
    host: str = "127.0.0.1"
    port: int = 0
    port_file: Path | None = None
    # fsspec URL the jobs' checkpoints go under (`file:///...`, `s3://...`); "" disables them.
    checkpoint_url: str = ""
    # OTLP/HTTP collector base URL traces are exported to; None: OTEL_EXPORTER_OTLP_ENDPOINT,
    # else off (see services/tracing.py, which also reads WEIR_TRACES_FILE).
    otlp_endpoint: str | None = None


async def run_controller(config: ControllerConfig) -> None:
    with tracing.process_tracing("weir-controller", config.otlp_endpoint):
        await _serve(config)


async def _serve(config: ControllerConfig) -> None:
    store = Store(config.database_url)
    await asyncio.to_thread(store.migrate)
    paths = PathPolicy(config.allowed_paths)
    workers = WorkerRegistry()
    supervisors = JobSupervisors(store, workers, config.checkpoint_url)
    metrics_channel = insecure_channel(config.metrics_address)
    views = JobViews(telemetry_pb2_grpc.TelemetryServiceStub(metrics_channel))
    starter = JobStarter(store, supervisors)

    server, _ = await start_server(
        [
            Servicer(
                pipelines_pb2_grpc.add_PipelineServiceServicer_to_server,
                PipelineServicer(store, paths, starter, views),
                "weir.v1.PipelineService",
            ),
            Servicer(
                jobs_pb2_grpc.add_JobServiceServicer_to_server,
                JobServicer(store, supervisors, starter, views, paths),
                "weir.v1.JobService",
            ),
            Servicer(
                checkpoints_pb2_grpc.add_CheckpointServiceServicer_to_server,
                CheckpointServicer(store),
                "weir.v1.CheckpointService",
            ),
            Servicer(
                cluster_pb2_grpc.add_ClusterServiceServicer_to_server,
                ClusterServicer(workers),
                "weir.v1.ClusterService",
            ),
            Servicer(
                control_plane_pb2_grpc.add_ControlPlaneServiceServicer_to_server,
                ControlPlaneServicer(workers, supervisors),
                "weir.v1.ControlPlaneService",
            ),
        ],
        config.host,
        config.port,
        config.port_file,
    )
    watchdog = asyncio.create_task(workers.watch(), name="worker watchdog")
    await resume_jobs(store, supervisors)
    log.info("controller serving")
    try:
        await wait_for_termination_signal()
    finally:
        watchdog.cancel()
        await server.stop(grace=2)
        await supervisors.close()
        await workers.close()
        await metrics_channel.close()
        store.close()


async def resume_jobs(store: Store, supervisors: JobSupervisors) -> None:
    """Pick up every unfinished job with the plan it was started with. A job that was active is
    recovered: its old tasks were cancelled by their workers when they registered again with
    this controller, so nothing runs twice. Checkpoints the old controller left in progress
    can never complete (their acknowledgements went to it): they are failed."""
    for job in await asyncio.to_thread(store.list_unfinished_jobs):
        await asyncio.to_thread(
            store.fail_checkpoints, job.id, now_ms(), "the controller restarted while it was in progress"
        )
        if job.state in ACTIVE_STATES and job.state != "Recovering":
            resumed = await asyncio.to_thread(
                store.transition_job, job.id, "Recovering", now_ms(), from_states=[job.state]
            )
            if resumed is None:
                continue
            job = resumed
        log.info("resuming job %s in state %s", job.id, job.state)
        supervisors.supervise(job, dataflow_pb2.Dataflow.FromString(job.dataflow))
