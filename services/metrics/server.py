"""Running the metrics service: `run_metrics(MetricsConfig(...))` serves until cancelled or
until SIGTERM/SIGINT, then stops the gRPC server (with a short grace for in-flight calls)
and the OpenTelemetry readers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from opentelemetry.sdk.metrics.export import MetricReader

from services.metrics.aggregates import TelemetryStore
from services.metrics.catalog import JobCatalog
from services.metrics.limits import TelemetryLimits
from services.metrics.otel_bridge import meter_provider
from services.metrics.prometheus_endpoint import start_prometheus_endpoint
from services.metrics.service import metrics_servicers
from services.serving import start_server, wait_for_termination_signal, write_port_file
from services.store import JobLogStore

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_S = 2.0


@dataclass(frozen=True)
class MetricsConfig:
    host: str
    port: int
    # Where to publish the bound `host:port` (for port 0), or None.
    port_file: Path | None
    catalog: JobCatalog
    # Where reported logs and errors are kept (the store's two tables this service writes).
    job_logs: JobLogStore
    limits: TelemetryLimits = field(default_factory=TelemetryLimits)
    # OpenTelemetry readers (OTLP exporter, Prometheus) that should see the aggregates.
    metric_readers: Sequence[MetricReader] = ()
    # `GET /metrics` (Prometheus text) on this port (0: any free port); None: not served.
    prometheus_port: int | None = None
    # It has no authentication (scrapers rarely bring any) and names every job and operator,
    # so it listens on loopback unless told otherwise, whatever `host` is.
    prometheus_host: str = "127.0.0.1"
    # Where to publish the Prometheus endpoint's bound `host:port`, or None.
    prometheus_port_file: Path | None = None


async def run_metrics(config: MetricsConfig) -> None:
    """Serve the metrics service until cancelled or signalled."""
    store = TelemetryStore(config.limits)
    provider = meter_provider(store, config.metric_readers) if config.metric_readers else None
    server, port = await start_server(
        metrics_servicers(config.catalog, config.job_logs, store=store),
        config.host,
        config.port,
        config.port_file,
    )
    log.info("metrics service listening on %s:%d", config.host, port)
    prometheus = None
    try:
        if config.prometheus_port is not None:
            prometheus = await start_prometheus_endpoint(
                store, config.prometheus_host, config.prometheus_port
            )
            if config.prometheus_port_file is not None:
                write_port_file(config.prometheus_port_file, prometheus.address)
        await wait_for_termination_signal()
    finally:
        if prometheus is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(prometheus.stop())
        # Shielded so that a cancelled run still stops the server before returning.
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(server.stop(SHUTDOWN_GRACE_S))
        if provider is not None:
            provider.shutdown()
        log.info("metrics service stopped")
