"""The worker process: serves WorkerService and ShuffleService (the receiving end of its
tasks' exchanges with tasks on other workers, behind the same cluster-secret check), keeps
registered with the controller, and streams telemetry to the metrics service."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path

from services import tracing
from services.serving import Servicer, start_server, wait_for_termination_signal
from services.worker.control_plane_link import ControlPlaneLink
from services.worker.engine import TelemetryBuffer, exchange_service
from services.worker.service import WorkerServicer
from services.worker.task_slots import TaskSlots
from services.worker.telemetry_stream import TelemetryStream
from weir.v1 import worker_pb2_grpc

log = logging.getLogger(__name__)

SHUTDOWN_JOIN_S = 5.0


@dataclass(frozen=True)
class WorkerConfig:
    controller_address: str
    metrics_address: str
    slots: int = 4
    host: str = "127.0.0.1"
    port: int = 0
    # The host the controller and other workers dial; defaults to `host`. Needed when `host` is a
    # wildcard (0.0.0.0 in a container), which nobody can dial.
    advertise_host: str = ""
    port_file: Path | None = None
    # OTLP/HTTP collector base URL traces are exported to; None: OTEL_EXPORTER_OTLP_ENDPOINT,
    # else off (see services/tracing.py, which also reads WEIR_TRACES_FILE).
    otlp_endpoint: str | None = None


async def run_worker(config: WorkerConfig) -> None:
    with tracing.process_tracing("weir-worker", config.otlp_endpoint):
        await _serve(config)


async def _serve(config: WorkerConfig) -> None:
    telemetry = TelemetryBuffer()
    slots = TaskSlots(config.slots, telemetry, asyncio.get_running_loop())
    server, port = await start_server(
        [
            Servicer(
                worker_pb2_grpc.add_WorkerServiceServicer_to_server,
                WorkerServicer(slots),
                "weir.v1.WorkerService",
            ),
            Servicer(
                exchange_service.add_to_server,
                exchange_service.ShuffleServicer(slots.exchanges),
                exchange_service.SERVICE_NAME,
            ),
        ],
        config.host,
        config.port,
        config.port_file,
    )
    link = ControlPlaneLink(
        config.controller_address, f"{config.advertise_host or config.host}:{port}", slots
    )
    stream = TelemetryStream(config.metrics_address, telemetry, lambda: link.worker_id)
    background = [
        asyncio.create_task(link.run(), name="control plane"),
        asyncio.create_task(stream.run(), name="telemetry"),
    ]
    try:
        await wait_for_termination_signal()
    finally:
        await asyncio.to_thread(slots.shutdown, SHUTDOWN_JOIN_S)
        await stream.flush(timeout_s=SHUTDOWN_JOIN_S)
        for task in background:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*background)
        await server.stop(grace=1)
        await link.close()
        await stream.close()
