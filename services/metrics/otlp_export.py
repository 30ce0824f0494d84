"""OTLP export of the aggregates (off by default): a periodic reader with the SDK's OTLP/HTTP
metric exporter, attached to the meter provider of `otel_bridge`, so an OpenTelemetry
collector receives what the bridge's instruments observe.

Configured by `weir metrics --otlp-endpoint URL` or, without the flag, the standard
`OTEL_EXPORTER_OTLP_ENDPOINT` (and the exporter's other `OTEL_EXPORTER_OTLP_*` variables,
which the SDK reads itself). Either is the collector's base URL (`http://host:4318`): the
exporter posts to `<base>/v1/metrics`, as the OpenTelemetry specification says for the
variable. A collector that is down costs a logged warning per export, nothing else.
"""

from __future__ import annotations

import os

from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader

ENDPOINT_VARIABLE = "OTEL_EXPORTER_OTLP_ENDPOINT"
METRICS_PATH = "/v1/metrics"
DEFAULT_EXPORT_INTERVAL_MS = 10_000.0


def otlp_metric_readers(
    endpoint: str | None, export_interval_ms: float = DEFAULT_EXPORT_INTERVAL_MS
) -> list[MetricReader]:
    """The reader to attach for OTLP export, or none: `endpoint` (a base URL) wins over the
    environment; with neither, export is off."""
    if endpoint:
        exporter = OTLPMetricExporter(endpoint=endpoint.rstrip("/") + METRICS_PATH)
    elif os.environ.get(ENDPOINT_VARIABLE):
        exporter = OTLPMetricExporter()  # reads the OTEL_EXPORTER_OTLP_* variables
    else:
        return []
    return [PeriodicExportingMetricReader(exporter, export_interval_millis=export_interval_ms)]
