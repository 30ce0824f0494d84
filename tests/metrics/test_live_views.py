"""`LiveViews` over a real SQLite store, driven directly: the bound on open streams, and a log
tail that still sends an entry stored late (older timestamp than entries already sent), once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from services.api_errors import ApiError
from services.clock import now_ms
from services.ids import new_id
from services.metrics.aggregates import TelemetryStore
from services.metrics.live_views import LiveViews, LiveViewTiming
from services.metrics.queries import MetricsQueries
from services.store import JobLogRecord, LogRetention
from tests.metrics.harness import JOB, JobDatabase, plan
from weir.v1 import logs_pb2

FAST = LiveViewTiming(state_poll_s=0.02, metrics_interval_s=0.1, tail_poll_s=0.02, tail_final_grace_s=0.1)
STEP_TIMEOUT_S = 10.0


@pytest.fixture
def database(tmp_path: Path) -> Iterator[JobDatabase]:
    database = JobDatabase(tmp_path, {JOB: plan()}, LogRetention(max_age_ms=None))
    yield database
    database.close()


def live_views(database: JobDatabase, max_streams: int = 8) -> LiveViews:
    queries = MetricsQueries(TelemetryStore(), database.catalog, database.job_logs)
    return LiveViews(queries, database.catalog, FAST, max_streams=max_streams)


def entry(message: str, timestamp: float) -> JobLogRecord:
    return JobLogRecord(id=new_id("log"), job_id=JOB, timestamp=timestamp, level="info", message=message)


def test_open_streams_are_bounded_and_released(database: JobDatabase) -> None:
    live = live_views(database, max_streams=1)

    async def scenario() -> None:
        first = live.watch_job(JOB)
        assert (await anext(first)).WhichOneof("event") == "state"
        with pytest.raises(ApiError) as raised:
            await anext(live.watch_job(JOB))
        assert raised.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
        await first.aclose()
        assert live.open_streams == 0
        second = live.watch_job(JOB)
        assert (await anext(second)).WhichOneof("event") == "state"
        await second.aclose()

    asyncio.run(scenario())


def test_tail_sends_a_late_entry_once(database: JobDatabase) -> None:
    live = live_views(database)
    begun = now_ms()

    async def scenario() -> list[str]:
        ready = asyncio.Event()

        async def started() -> None:
            ready.set()

        tail = live.tail_logs(logs_pb2.TailJobLogsRequest(job_id=JOB), started)
        received: list[str] = []

        async def next_message() -> str:
            return (await asyncio.wait_for(anext(tail), STEP_TIMEOUT_S)).message

        pending = asyncio.ensure_future(next_message())
        # Entries stored before the tail has looked count as stored already: wait for it.
        await asyncio.wait_for(ready.wait(), STEP_TIMEOUT_S)
        await asyncio.to_thread(database.job_logs.append, [entry("on time", begun + 1)], [], now_ms())
        received.append(await pending)
        # Stored after "on time" was sent, stamped 10 s earlier: a worker's report delayed by a
        # reconnect. Then one more on time, so that a resent entry would show before it.
        late = [entry("late", begun - 10_000)]
        await asyncio.to_thread(database.job_logs.append, late, [], now_ms())
        received.append(await next_message())
        await asyncio.to_thread(database.job_logs.append, [entry("after", now_ms())], [], now_ms())
        received.append(await next_message())
        await tail.aclose()
        return received

    assert asyncio.run(scenario()) == ["on time", "late", "after"]
    assert live.open_streams == 0
