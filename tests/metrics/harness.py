"""A real metrics server for tests: the grpc.aio server on its own event loop in a background
thread, reached through ordinary synchronous gRPC channels, plus builders of real reports and
plans. Time that matters (throughput windows, gauge staleness) runs on a `ManualClock`.

Its jobs live in a real (SQLite) store, as the controller would have created them: the store
is both the job catalog and where logs and errors are kept."""

from __future__ import annotations

import asyncio
import queue
import tempfile
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import grpc

from services.metrics.aggregates import TelemetryStore
from services.metrics.ingest import ReportIngest
from services.metrics.job_log_writer import JobLogWriter
from services.metrics.limits import TelemetryLimits
from services.metrics.service import metrics_servicers
from services.metrics.store_catalog import StoreJobCatalog
from services.serving import start_server
from services.store import JobLogStore, LogRetention, PipelineRecord, Store
from weir.v1 import (
    dataflow_pb2,
    logs_pb2,
    logs_pb2_grpc,
    metrics_pb2_grpc,
    telemetry_pb2,
    telemetry_pb2_grpc,
)

SOURCE = telemetry_pb2.SubtaskReport.ROLE_SOURCE
TRANSFORM = telemetry_pb2.SubtaskReport.ROLE_TRANSFORM
SINK = telemetry_pb2.SubtaskReport.ROLE_SINK

JOB = "job_01JDX3N4Q5R6S7T8V9W0X1Y2Z3"
OTHER_JOB = "job_01JDX3N4Q5R6S7T8V9W0X1Y2Z4"
UNKNOWN_JOB = "job_01JDX3N4Q5R6S7T8V9W0X1Y2Z5"
RPC_TIMEOUT_S = 30.0


class ManualClock:
    """Milliseconds that move only when a test says so."""

    def __init__(self, start_ms: float = 1_000_000.0) -> None:
        self.now_ms = start_ms

    def __call__(self) -> float:
        return self.now_ms

    def advance(self, ms: float) -> None:
        self.now_ms += ms


def plan() -> dataflow_pb2.Dataflow:
    """source_1 (2 subtasks) -> filter_2 (2) -> sink_3 (preview, 1)."""
    op = dataflow_pb2.Operator
    return dataflow_pb2.Dataflow(
        operators=[
            op(id="source_1", name="ImpulseSource", kind=op.KIND_SOURCE, parallelism=2),
            op(id="filter_2", name="Filter", kind=op.KIND_TRANSFORM, parallelism=2),
            op(id="sink_3", name="PreviewSink", kind=op.KIND_SINK, parallelism=1),
        ],
        edges=[
            dataflow_pb2.Edge(source_operator_id="source_1", target_operator_id="filter_2"),
            dataflow_pb2.Edge(source_operator_id="filter_2", target_operator_id="sink_3"),
        ],
    )


def subtask(
    operator_id: str, index: int, role: int, job_id: str = JOB, **fields: Any
) -> telemetry_pb2.SubtaskReport:
    names = {"source_1": "ImpulseSource", "filter_2": "Filter", "sink_3": "PreviewSink"}
    return telemetry_pb2.SubtaskReport(
        job_id=job_id,
        operator_id=operator_id,
        operator_name=names.get(operator_id, operator_id),
        subtask_index=index,
        parallelism=2 if operator_id != "sink_3" else 1,
        role=role,
        **fields,
    )


def report(worker_id: str, seq: int, **fields: Any) -> telemetry_pb2.ReportRequest:
    return telemetry_pb2.ReportRequest(worker_id=worker_id, seq=seq, timestamp=1_704_067_200_000.0, **fields)


def error_record(
    timestamp: float, level: int, operator_id: str, message: str, job_id: str = JOB
) -> telemetry_pb2.JobErrorRecord:
    return telemetry_pb2.JobErrorRecord(
        job_id=job_id,
        error=logs_pb2.JobError(
            timestamp=timestamp,
            level=level,
            operator_id=operator_id,
            message=message,
            details="details of " + message,
            record='{"bad json',
        ),
    )


def log_record(
    timestamp: float, level: int, operator_id: str, task_index: int, message: str
) -> telemetry_pb2.JobLogRecord:
    entry = logs_pb2.LogEntry(
        timestamp=timestamp, level=level, operator_id=operator_id, task_index=task_index, message=message
    )
    entry.details.update({"broker": "localhost:9092"})
    return telemetry_pb2.JobLogRecord(job_id=JOB, entry=entry)


class JobDatabase:
    """A migrated SQLite store in `directory` holding the given jobs (each with a pipeline of its
    own), as the controller would have created them: the catalog and the job log store over it."""

    def __init__(
        self,
        directory: Path,
        dataflows: dict[str, dataflow_pb2.Dataflow],
        retention: LogRetention | None = None,
    ) -> None:
        self.store_url = f"sqlite:///{directory / 'weir.db'}"
        self.store = Store(self.store_url)
        self.store.migrate()
        for n, (job_id, dataflow) in enumerate(dataflows.items(), start=1):
            pipeline = PipelineRecord(
                id=f"pipe_{n:026d}",
                name=f"pipeline {n}",
                query="SELECT 1",
                parallelism=1,
                checkpoint_interval_ms=10_000,
                created_at=1_704_067_200_000.0,
                dataflow=dataflow.SerializeToString(),
            )
            self.store.create_pipeline(pipeline)
            self.store.create_job(pipeline.id, job_id, 1, 1_704_067_200_000.0, dataflow=pipeline.dataflow)
        self.catalog = StoreJobCatalog(self.store)
        # The tests' timestamps are small numbers, long past any age bound.
        self.job_logs = JobLogStore(self.store, retention or LogRetention(max_age_ms=None))

    def close(self) -> None:
        self.store.close()


class SyncIngest:
    """A `ReportIngest` over `telemetry` and a `JobDatabase`, applied from synchronous tests."""

    def __init__(self, telemetry: TelemetryStore, database: JobDatabase) -> None:
        self.ingest = ReportIngest(telemetry, JobLogWriter(database.job_logs))

    def apply(self, request: telemetry_pb2.ReportRequest) -> int:
        return asyncio.run(self.ingest.apply(request))

    def last_applied(self, worker_id: str) -> int:
        return self.ingest.last_applied(worker_id)


class ReportStream:
    """One `Report` bidi stream; `send` returns the acknowledgement of that report, so once it
    returns the report has been applied (no waiting by time)."""

    def __init__(self, channel: grpc.Channel) -> None:
        self._requests: queue.Queue[telemetry_pb2.ReportRequest | None] = queue.Queue()
        stub = telemetry_pb2_grpc.TelemetryServiceStub(channel)
        self._responses: Iterator[telemetry_pb2.ReportResponse] = stub.Report(
            iter(self._requests.get, None), timeout=RPC_TIMEOUT_S
        )

    def send(self, request: telemetry_pb2.ReportRequest) -> int:
        self._requests.put(request)
        return next(self._responses).acked_seq

    def close(self) -> None:
        self._requests.put(None)
        for _ in self._responses:
            raise AssertionError("no response expected after the last report")

    def __enter__(self) -> ReportStream:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self.close()
        else:
            self.abandon()

    def abandon(self) -> None:
        """End the stream without expecting anything more (e.g. after the server aborted it)."""
        self._requests.put(None)
        self._responses.cancel()  # type: ignore[attr-defined]


class MetricsServer:
    """The metrics servicers on a real grpc.aio server, on its own loop and thread."""

    def __init__(
        self,
        dataflows: dict[str, dataflow_pb2.Dataflow],
        clock: ManualClock,
        limits: TelemetryLimits | None = None,
        retention: LogRetention | None = None,
        database: JobDatabase | None = None,
    ) -> None:
        """Over `database` if given (the caller closes it), else over a new one of `dataflows`."""
        self.clock = clock
        self._directory: tempfile.TemporaryDirectory[str] | None = None
        if database is None:
            self._directory = tempfile.TemporaryDirectory(prefix="weir-metrics-")
            database = JobDatabase(Path(self._directory.name), dataflows, retention)
        self.database = database
        self._limits = limits
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="metrics-server", daemon=True)
        self._server: grpc.aio.Server | None = None
        self.port = 0
        self.channel: grpc.Channel | None = None

    async def _start(self) -> tuple[grpc.aio.Server, int]:
        servicers = metrics_servicers(
            self.database.catalog, self.database.job_logs, limits=self._limits, clock=self.clock
        )
        return await start_server(servicers, "127.0.0.1", 0)

    def start(self) -> MetricsServer:
        self._thread.start()
        started = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        self._server, self.port = started.result(timeout=RPC_TIMEOUT_S)
        self.channel = grpc.insecure_channel(f"127.0.0.1:{self.port}")
        return self

    def stop(self) -> None:
        if self.channel is not None:
            self.channel.close()
        if self._server is not None:
            asyncio.run_coroutine_threadsafe(self._server.stop(None), self._loop).result(RPC_TIMEOUT_S)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(RPC_TIMEOUT_S)
        self._loop.close()
        if self._directory is not None:
            self.database.close()
            self._directory.cleanup()

    def _channel(self) -> grpc.Channel:
        assert self.channel is not None, "server not started"
        return self.channel

    def stream(self) -> ReportStream:
        return ReportStream(self._channel())

    @property
    def telemetry(self) -> telemetry_pb2_grpc.TelemetryServiceStub:
        return telemetry_pb2_grpc.TelemetryServiceStub(self._channel())

    @property
    def metrics(self) -> metrics_pb2_grpc.JobMetricsServiceStub:
        return metrics_pb2_grpc.JobMetricsServiceStub(self._channel())

    @property
    def logs(self) -> logs_pb2_grpc.JobLogServiceStub:
        return logs_pb2_grpc.JobLogServiceStub(self._channel())

    def send(self, *reports: telemetry_pb2.ReportRequest) -> Sequence[int]:
        """Send reports on a fresh stream; return their acknowledgements."""
        with self.stream() as stream:
            return [stream.send(r) for r in reports]
