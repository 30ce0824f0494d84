"""A worker's telemetry stream across a broken connection to the same metrics service.

A real metrics service (its gRPC servicers on loopback) and a real `TelemetryStream` fed by a
real `TelemetryBuffer`: the server goes away for a few report intervals while the worker keeps
counting and retrying, then comes back on the same port with the same aggregates (the same
incarnation: no rebase). Every count must arrive exactly once — in particular the reports made
after the reconnect, which gRPC could hand to a request generator of a failed attempt.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from services.ids import new_id
from services.metrics.aggregates import TelemetryStore
from services.metrics.service import metrics_servicers
from services.metrics.store_catalog import StoreJobCatalog
from services.serving import start_server
from services.store import JobLogStore, Store
from services.worker.engine import TelemetryBuffer
from services.worker.engine.subtask_metrics import Role
from services.worker.telemetry_stream import TelemetryStream

DEADLINE_S = 20.0


async def until(condition: Callable[[], bool], what: str) -> None:
    """Wait for `condition` on the event loop (the stream runs there), with a deadline."""
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


async def _broken_and_restored(data_dir: Path) -> None:
    store = TelemetryStore()
    # Counters need no job in the store (only queries ask the catalog); logs would.
    database = Store(f"sqlite:///{data_dir / 'weir.db'}")
    database.migrate()
    servicers = metrics_servicers(StoreJobCatalog(database), JobLogStore(database), store=store)
    server, port = await start_server(servicers, "127.0.0.1", 0)
    job_id, worker_id = new_id("job"), new_id("wrk")
    buffer = TelemetryBuffer()
    task = buffer.register_task(job_id, "task_1", 0, 1, [("source_1", "ImpulseSource", Role.ROLE_SOURCE)])
    source = task.operator("source_1")
    stream = TelemetryStream(f"127.0.0.1:{port}", buffer, lambda: worker_id)
    runner = asyncio.create_task(stream.run())

    def records_in() -> int:
        job = store.job(job_id)
        return 0 if job is None else job.totals.records_in

    try:
        source.count_out(100, 1600)
        await until(lambda: records_in() == 100, "the first counts")

        # A bounce between two reports: the broken call's request generator is still waiting
        # for the next report when the stream reconnects.
        await server.stop(None)
        server, _ = await start_server(servicers, "127.0.0.1", port)
        for expected in (101, 102, 103):
            source.count_out(1, 16)
            await until(lambda expected=expected: records_in() == expected, f"{expected} records")

        # An outage over several report intervals and reconnect attempts.
        await server.stop(None)
        source.count_out(10, 160)
        # Reports queued while the service is away: the stream has retried several times.
        await until(lambda: len(stream._unacked) >= 1, "a report made while the service is away")
        source.count_out(10, 160)
        await until(lambda: len(stream._unacked) >= 2, "a second report made while the service is away")

        # Back on the same port, with the same aggregates: a reconnect, not a restart.
        server, _ = await start_server(servicers, "127.0.0.1", port)
        await until(lambda: records_in() == 123, "the reports made while the service was away")
        for expected in (124, 125, 126):
            source.count_out(1, 16)
            await until(lambda expected=expected: records_in() == expected, f"{expected} records")
        job = store.job(job_id)
        assert job is not None
        assert job.totals.bytes_in == 126 * 16  # 16 bytes a record throughout
    finally:
        runner.cancel()
        await stream.close()
        await server.stop(None)
        database.close()


def test_reports_after_a_reconnect_arrive_exactly_once(tmp_path: Path) -> None:
    asyncio.run(_broken_and_restored(tmp_path))
