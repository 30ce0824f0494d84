"""The service as the CLI runs it (`run_metrics`), and the OpenTelemetry bridge."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from services.metrics.aggregates import TelemetryStore
from services.metrics.otel_bridge import meter_provider
from services.metrics.server import MetricsConfig, run_metrics
from weir.v1 import metrics_pb2, metrics_pb2_grpc

from .harness import JOB, SINK, SOURCE, UNKNOWN_JOB, JobDatabase, ManualClock, SyncIngest, report, subtask

DEADLINE_S = 30.0


async def _wait_for_file(path: Path) -> str:
    deadline = time.monotonic() + DEADLINE_S
    while not await asyncio.to_thread(path.exists):
        assert time.monotonic() < deadline, f"{path} not written"
        await asyncio.sleep(0.01)
    return await asyncio.to_thread(path.read_text)


def test_run_metrics_serves_until_cancelled(tmp_path: Path, database: JobDatabase) -> None:
    port_file = tmp_path / "run" / "metrics.port"
    config = MetricsConfig(
        host="127.0.0.1",
        port=0,
        port_file=port_file,
        catalog=database.catalog,
        job_logs=database.job_logs,
    )

    async def scenario() -> None:
        task = asyncio.create_task(run_metrics(config))
        address = await _wait_for_file(port_file)
        async with grpc.aio.insecure_channel(address) as channel:
            health = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service="weir.v1.JobMetricsService"), timeout=DEADLINE_S
            )
            assert health.status == health_pb2.HealthCheckResponse.SERVING
            metrics = await metrics_pb2_grpc.JobMetricsServiceStub(channel).GetJobMetrics(
                metrics_pb2.GetJobMetricsRequest(job_id=JOB), timeout=DEADLINE_S
            )
            assert metrics.records_in == 0
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        # Stopped: the port no longer answers.
        async with grpc.aio.insecure_channel(address) as channel:
            try:
                await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=1.0)
            except grpc.aio.AioRpcError as error:
                assert error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
            else:
                raise AssertionError("server still answering after cancellation")

    asyncio.run(scenario())


def test_otel_readers_see_the_aggregates(database: JobDatabase) -> None:
    store = TelemetryStore(clock=ManualClock())
    reader = InMemoryMetricReader()
    provider = meter_provider(store, [reader])
    try:
        SyncIngest(store, database).apply(
            report(
                "wrk_a",
                1,
                subtasks=[
                    subtask("source_1", 0, SOURCE, records_out=40, bytes_out=400, backpressure_fraction=0.25),
                    subtask(
                        "sink_3", 0, SINK, records_in=30, latency_bounds_ms=[10.0], latency_counts=[4, 0]
                    ),
                    subtask("source_1", 0, SOURCE, job_id=UNKNOWN_JOB, records_out=7),
                ],
            )
        )
        data = reader.get_metrics_data()
        assert data is not None
        points: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        for resource_metrics in data.resource_metrics:
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    for point in metric.data.data_points:
                        attributes = tuple(sorted((point.attributes or {}).items()))
                        points[(metric.name, attributes)] = point.value  # type: ignore[union-attr]
        job = (("job_id", JOB),)
        assert points[("weir.job.records_in", job)] == 40
        assert points[("weir.job.records_out", job)] == 30
        assert points[("weir.job.bytes_in", job)] == 400
        assert points[("weir.job.records_in", (("job_id", UNKNOWN_JOB),))] == 7
        assert points[("weir.operator.records_out", (("job_id", JOB), ("operator_id", "source_1")))] == 40
        assert points[("weir.job.throughput", job)] == 4.0
        assert points[("weir.job.backpressure", job)] == 0.25
        assert points[("weir.job.latency.p50", job)] == 5.0
    finally:
        provider.shutdown()
