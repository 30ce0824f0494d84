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
from services.metrics.service import metrics_servicers
from services.serving import start_server, wait_for_termination_signal

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_S = 2.0


@dataclass(frozen=True)
class MetricsConfig:
    host: str
    port: int
    # Where to publish the bound `host:port` (for port 0), or None.
    port_file: Path | None
    catalog: JobCatalog
    limits: TelemetryLimits = field(default_factory=TelemetryLimits)
    # OpenTelemetry readers (OTLP exporter, Prometheus) that should see the aggregates.
    metric_readers: Sequence[MetricReader] = ()


async def run_metrics(config: MetricsConfig) -> None:
    """Serve the metrics service until cancelled or signalled."""
    store = TelemetryStore(config.limits)
    provider = meter_provider(store, config.metric_readers) if config.metric_readers else None
    server, port = await start_server(
        metrics_servicers(config.catalog, store=store), config.host, config.port, config.port_file
    )
    log.info("metrics service listening on %s:%d", config.host, port)
    try:
        await wait_for_termination_signal()
    finally:
        # Shielded so that a cancelled run still stops the server before returning.
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(server.stop(SHUTDOWN_GRACE_S))
        if provider is not None:
            provider.shutdown()
        log.info("metrics service stopped")
