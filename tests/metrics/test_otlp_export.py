"""OTLP export through the SDK's real OTLP/HTTP exporter to a real HTTP receiver on loopback,
which decodes what arrives with the OTLP protos; and the Prometheus text of the same
aggregates, rendered by the endpoint's collector (histogram buckets in seconds)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from services.metrics.aggregates import TelemetryStore
from services.metrics.otel_bridge import meter_provider
from services.metrics.otlp_export import ENDPOINT_VARIABLE, otlp_metric_readers
from services.metrics.prometheus_endpoint import prometheus_registry
from tests.metrics.harness import JOB, SINK, SOURCE, JobDatabase, SyncIngest, plan, report, subtask


class Receiver(BaseHTTPRequestHandler):
    """An OTLP/HTTP metrics receiver: keeps each decoded export request."""

    received: ClassVar[list[metrics_service_pb2.ExportMetricsServiceRequest]] = []
    paths: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.paths.append(self.path)
        Receiver.received.append(metrics_service_pb2.ExportMetricsServiceRequest.FromString(body))
        response = metrics_service_pb2.ExportMetricsServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(response)))
        self.end_headers()
        self.wfile.write(response)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    Receiver.received, Receiver.paths = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def telemetry(tmp_path: Path) -> Iterator[TelemetryStore]:
    database = JobDatabase(tmp_path, {JOB: plan()})
    store = TelemetryStore()
    ingest = SyncIngest(store, database)
    ingest.apply(
        report(
            "worker_a",
            1,
            subtasks=[
                subtask("source_1", 0, SOURCE, records_out=70, bytes_out=700),
                subtask("source_1", 1, SOURCE, records_out=30, bytes_out=300),
                subtask(
                    "sink_3",
                    0,
                    SINK,
                    records_in=40,
                    latency_bounds_ms=[10.0, 100.0],
                    latency_counts=[25, 10, 5],
                    backpressure_fraction=0.5,
                ),
            ],
        )
    )
    yield store
    database.close()


def test_export_is_off_without_an_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENDPOINT_VARIABLE, raising=False)
    assert otlp_metric_readers(None) == []


@pytest.mark.parametrize("configured_by", ["flag", "environment"])
def test_job_counters_reach_an_otlp_receiver(
    telemetry: TelemetryStore, receiver: str, configured_by: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if configured_by == "flag":
        monkeypatch.delenv(ENDPOINT_VARIABLE, raising=False)
        readers = otlp_metric_readers(receiver, export_interval_ms=60_000)
    else:
        monkeypatch.setenv(ENDPOINT_VARIABLE, receiver)
        readers = otlp_metric_readers(None, export_interval_ms=60_000)
    provider = meter_provider(telemetry, readers)
    try:
        assert provider.force_flush(10_000)
    finally:
        provider.shutdown()
    assert Receiver.paths and set(Receiver.paths) == {"/v1/metrics"}
    values = {}
    for request in Receiver.received:
        for resource in request.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    for point in metric.sum.data_points:
                        labels = {a.key: a.value.string_value for a in point.attributes}
                        values[(metric.name, labels.get("job_id"))] = point.as_double
    assert values[("weir.job.records_in", JOB)] == 100
    assert values[("weir.job.records_out", JOB)] == 40
    assert values[("weir.job.bytes_in", JOB)] == 1000


def test_prometheus_text_of_the_aggregates(telemetry: TelemetryStore) -> None:
    text = generate_latest(prometheus_registry(telemetry)).decode()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    source_0 = (("job", JOB), ("operator", "source_1"), ("subtask", "0"))
    assert samples[("weir_records_out_total", source_0)] == 70
    assert samples[("weir_job_records_in_total", (("job", JOB),))] == 100
    assert samples[("weir_job_records_out_total", (("job", JOB),))] == 40
    sink = (("job", JOB), ("operator", "sink_3"), ("subtask", "0"))
    assert samples[("weir_backpressure_ratio", sink)] == 0.5
    assert samples[("weir_job_backpressure_ratio", (("job", JOB),))] == 0.5
    buckets = {
        labels[-1][1]: value
        for (name, labels), value in samples.items()
        if name == "weir_latency_seconds_bucket"
    }
    assert buckets == {"0.01": 25, "0.1": 35, "+Inf": 40}
