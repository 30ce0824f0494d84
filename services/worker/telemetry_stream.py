"""Streams the worker's telemetry to the metrics service, about once a second.

Each report carries a sequence number and stays in `unacked` until the metrics service
acknowledges it; after a reconnect the unacknowledged reports are sent again, and the
metrics service ignores any it had already applied, so no count is lost or doubled.
The backlog is bounded: past `MAX_UNACKED` reports (metrics down for minutes) the oldest
are merged away rather than growing memory without bound.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

import grpc

from services.clock import now_ms
from services.serving import insecure_channel
from services.worker.engine import TelemetryBuffer
from weir.v1 import telemetry_pb2, telemetry_pb2_grpc

log = logging.getLogger(__name__)

REPORT_INTERVAL_S = 1.0
RECONNECT_S = 0.5
MAX_UNACKED = 600


class TelemetryStream:
    def __init__(self, metrics_address: str, buffer: TelemetryBuffer, worker_id: Callable[[], str]) -> None:
        self._channel = insecure_channel(metrics_address)
        self._stub = telemetry_pb2_grpc.TelemetryServiceStub(self._channel)
        self._buffer = buffer
        self._worker_id = worker_id
        self._seq = 0
        self._unacked: collections.OrderedDict[int, telemetry_pb2.ReportRequest] = collections.OrderedDict()
        self._fresh: asyncio.Queue[telemetry_pb2.ReportRequest] = asyncio.Queue()
        self._acked = asyncio.Event()

    async def run(self) -> None:
        """Produce a report every interval and keep a stream open to send it; until cancelled."""
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
        self._fresh.put_nowait(report)

    async def _requests(self) -> AsyncIterator[telemetry_pb2.ReportRequest]:
        # Everything not yet acknowledged first (a reconnect), then reports as they come.
        while not self._fresh.empty():
            self._fresh.get_nowait()
        for report in list(self._unacked.values()):
            yield report
        while True:
            yield await self._fresh.get()

    async def _stream_once(self) -> None:
        call = self._stub.Report(self._requests())
        async for ack in call:
            for seq in [s for s in self._unacked if s <= ack.acked_seq]:
                del self._unacked[seq]
            self._acked.set()

    async def close(self) -> None:
        await self._channel.close()
