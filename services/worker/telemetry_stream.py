"""Streams the worker's telemetry to the metrics service, about once a second.

Each report carries a sequence number and stays in `unacked` until the metrics service
acknowledges it; after a reconnect the unacknowledged reports are sent again, and the
metrics service ignores any it had already applied, so no count is lost or doubled.
The backlog is bounded: past `MAX_UNACKED` reports the oldest are dropped rather than
growing memory without bound.

The metrics service keeps its aggregates in memory, so a restart of it loses everything
applied so far. Each of its processes names itself with an incarnation id, sent as the
stream's initial metadata before any report is read. A worker that finds a different
incarnation than the one it reported to is talking to a service that lost its reports:
it drops its unacknowledged deltas and rebases its buffer (see `TelemetryBuffer.rebase`),
so that its next report carries every count since the worker started. The new service
then holds the same totals as the old one did, plus what happened since.

`WEIR_TELEMETRY=off` in a worker's environment turns the stream off: the worker never
connects, and drops what its buffer collects once a second. Benchmarks use it to measure
what telemetry costs (bench/telemetry_cost.py); a cluster run that way shows no metrics.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Callable

import grpc

from services.clock import now_ms
from services.metrics.ingest import INCARNATION_METADATA_KEY
from services.serving import insecure_channel
from services.worker.engine import TelemetryBuffer
from weir.v1 import telemetry_pb2, telemetry_pb2_grpc

log = logging.getLogger(__name__)

REPORT_INTERVAL_S = 1.0
RECONNECT_S = 0.5
MAX_UNACKED = 600
TELEMETRY_SWITCH_ENV = "WEIR_TELEMETRY"


def telemetry_enabled() -> bool:
    return os.environ.get(TELEMETRY_SWITCH_ENV, "on").lower() != "off"


class TelemetryStream:
    def __init__(self, metrics_address: str, buffer: TelemetryBuffer, worker_id: Callable[[], str]) -> None:
        self._channel = insecure_channel(metrics_address)
        self._stub = telemetry_pb2_grpc.TelemetryServiceStub(self._channel)
        self._buffer = buffer
        self._worker_id = worker_id
        self._seq = 0
        self._unacked: collections.OrderedDict[int, telemetry_pb2.ReportRequest] = collections.OrderedDict()
        # New reports for the open stream (None between streams: they wait in `unacked`).
        self._outbox: asyncio.Queue[telemetry_pb2.ReportRequest | None] | None = None
        self._acked = asyncio.Event()
        # The metrics service process our reports went to (None before the first stream).
        self._incarnation: str | None = None
        self._enabled = telemetry_enabled()

    async def run(self) -> None:
        """Produce a report every interval and keep a stream open to send it; until cancelled."""
        if not self._enabled:
            log.warning("telemetry is off (%s=off): this worker reports no metrics", TELEMETRY_SWITCH_ENV)
            while True:
                await asyncio.sleep(REPORT_INTERVAL_S)
                self._buffer.drain()
        producer = asyncio.create_task(self._produce(), name="telemetry producer")
        try:
            while True:
                try:
                    await self._stream_once()
                except grpc.aio.AioRpcError as error:
                    log.info("telemetry stream broke (%s); reconnecting", error.code().name)
                await asyncio.sleep(RECONNECT_S)
        finally:
            producer.cancel()

    async def flush(self, timeout_s: float) -> None:
        """Report what is buffered now and wait (bounded) until every report is acknowledged:
        on shutdown, so the last second of counts is not lost."""
        if not self._enabled:
            return
        self._enqueue()
        deadline = asyncio.get_running_loop().time() + timeout_s
        while self._unacked and asyncio.get_running_loop().time() < deadline:
            self._acked.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._acked.wait(), deadline - asyncio.get_running_loop().time())

    async def _produce(self) -> None:
        while True:
            await asyncio.sleep(REPORT_INTERVAL_S)
            self._enqueue()

    def _enqueue(self) -> None:
        report = self._buffer.drain()
        if not (report.subtasks or report.preview or report.logs or report.errors):
            return
        self._seq += 1
        report.worker_id = self._worker_id()
        report.seq = self._seq
        report.timestamp = now_ms()
        self._unacked[self._seq] = report
        while len(self._unacked) > MAX_UNACKED:
            self._unacked.popitem(last=False)
            log.warning("telemetry backlog over %d reports; dropping the oldest", MAX_UNACKED)
        if self._outbox is not None:
            self._outbox.put_nowait(report)

    async def _requests(
        self, ready: asyncio.Event, outbox: asyncio.Queue[telemetry_pb2.ReportRequest | None]
    ) -> AsyncIterator[telemetry_pb2.ReportRequest]:
        # Nothing before the service said who it is (a restarted one needs a rebase first);
        # then everything not yet acknowledged (a reconnect), then reports as they come. A
        # report enqueued meanwhile may go twice; the service acknowledges the second again.
        # The stream's end is None in its outbox (or its outbox no longer current).
        await ready.wait()
        if self._outbox is not outbox:
            return
        for report in list(self._unacked.values()):
            yield report
        while (report := await outbox.get()) is not None:
            yield report

    async def _stream_once(self) -> None:
        # Each stream has its own outbox: gRPC leaves the request generator of a failed call
        # waiting, and a shared queue would let it swallow a report meant for the next stream.
        ready = asyncio.Event()
        outbox: asyncio.Queue[telemetry_pb2.ReportRequest | None] = asyncio.Queue()
        call = self._stub.Report(self._requests(ready, outbox))
        try:
            incarnation = dict(await call.initial_metadata()).get(INCARNATION_METADATA_KEY)
            if isinstance(incarnation, str):
                if self._incarnation is not None and incarnation != self._incarnation:
                    self._rebase()
                self._incarnation = incarnation
            self._outbox = outbox
            ready.set()
            async for ack in call:
                for seq in [s for s in self._unacked if s <= ack.acked_seq]:
                    del self._unacked[seq]
                self._acked.set()
        finally:
            # Ends the request generator too: gRPC does not, once the call has failed.
            if self._outbox is outbox:
                self._outbox = None
            outbox.put_nowait(None)
            ready.set()
            call.cancel()

    def _rebase(self) -> None:
        """The service restarted and lost every report: drop the unacknowledged ones (their
        counts are in the totals the next report carries) but keep their logs, errors and
        preview rows, and report everything since this worker started."""
        log.info("metrics service restarted; reporting totals since this worker started")
        reports = list(self._unacked.values())
        self._unacked.clear()
        self._buffer.rebase(
            logs=[record for report in reports for record in report.logs],
            errors=[record for report in reports for record in report.errors],
            previews=[batch for report in reports for batch in report.preview],
        )
        self._enqueue()

    async def close(self) -> None:
        await self._channel.close()
