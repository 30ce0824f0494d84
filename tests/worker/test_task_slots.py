"""A worker's task slots (services/worker/task_slots.py) with real engine tasks: when a job
is started again here (a new run, as after a controller restart), the cancelled run's tasks,
which have the same task ids, must not end or fail their successors with their last words."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from services.paths import PathPolicy
from services.planner import chain_operators, plan_query
from services.worker.engine import TelemetryBuffer
from services.worker.task_slots import TaskSlots
from tests.conftest import wait_for
from weir.v1 import control_plane_pb2, dataflow_pb2, worker_pb2

QUERY = """CREATE TABLE impulse WITH (connector = 'impulse', event_rate = '1000');
CREATE TABLE out WITH (connector = 'blackhole');
INSERT INTO out SELECT counter FROM impulse"""
Kind = control_plane_pb2.TaskEvent


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """An event loop on its own thread, as the worker's: task threads post to it."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


def specs(dataflow: dataflow_pb2.Dataflow, run_id: str) -> list[worker_pb2.TaskSpec]:
    (chain,) = chain_operators(dataflow)
    return [
        worker_pb2.TaskSpec(
            task_id=f"{chain.operator_ids[0]}.0",
            operator_ids=list(chain.operator_ids),
            subtask_index=0,
            parallelism=1,
            run_id=run_id,
        )
    ]


def test_a_cancelled_run_does_not_end_the_next_run_of_its_tasks(loop: asyncio.AbstractEventLoop) -> None:
    slots = TaskSlots(4, TelemetryBuffer(), loop)
    dataflow = plan_query(QUERY, 1, PathPolicy([]))
    events: list[control_plane_pb2.TaskEvent] = []

    def drained() -> list[control_plane_pb2.TaskEvent]:
        async def drain() -> None:
            while not slots.events.empty():
                events.append(slots.events.get_nowait())

        asyncio.run_coroutine_threadsafe(drain(), loop).result(5)
        return events

    def on_loop(call: object, *args: object) -> None:
        async def run() -> None:
            call(*args)  # type: ignore[operator]

        asyncio.run_coroutine_threadsafe(run(), loop).result(5)

    on_loop(slots.start, "job_a", dataflow, specs(dataflow, "run_1"))
    wait_for(lambda: any(e.kind == Kind.KIND_RUNNING for e in drained()), what="run 1 running")
    task_id = events[0].task_id

    on_loop(slots.start, "job_a", dataflow, specs(dataflow, "run_2"))
    wait_for(lambda: len([e for e in drained() if e.kind == Kind.KIND_RUNNING]) == 2, what="run 2 running")
    # Run 1's thread has ended (and said its last words) once only run 2's is left.
    wait_for(
        lambda: [t.name for t in threading.enumerate()].count(f"weir-task-{task_id}") == 1,
        what="the cancelled run's thread to end",
    )
    drained()
    try:
        assert [e.kind for e in events] == [Kind.KIND_RUNNING, Kind.KIND_RUNNING], events
        assert slots.running_task_ids() == [task_id]
    finally:
        on_loop(slots.cancel_all)
