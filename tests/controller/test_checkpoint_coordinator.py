"""The checkpoint coordinator against a real store (SQLite and PostgreSQL) and a real gRPC
worker endpoint on loopback that records what the coordinator asks of it; the test plays
the tasks, acknowledging (or not) as the engine would."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import grpc
import pytest

from services.controller.checkpointing.coordinator import CheckpointCoordinator, epoch_location
from services.controller.checkpointing.restore_points import latest_restore_point
from services.controller.workers import WorkerRegistry
from services.serving import Servicer, start_server
from services.store import PipelineRecord, Store, SubtaskStateSize
from tests.conftest import fresh_postgres_database
from weir.v1 import worker_pb2, worker_pb2_grpc

T0 = 1_704_067_200_000.0
TASKS = ["source_1.0", "source_1.1"]


class RecordingWorker(worker_pb2_grpc.WorkerServiceServicer):
    """Records triggers and commits; `on_trigger` lets a test acknowledge like a task would."""

    def __init__(self) -> None:
        self.triggered: list[int] = []
        self.committed: list[int] = []
        self.on_trigger: Callable[[int], None] = lambda epoch: None
        self.refusal = ""
        self._changed = asyncio.Condition()

    async def until(self, predicate: Callable[[], bool]) -> None:
        """Wait until a trigger or commit made `predicate` true (the test's timeout bounds it)."""
        async with self._changed:
            await self._changed.wait_for(predicate)

    async def TriggerCheckpoint(self, request, context):
        if self.refusal:
            await context.abort(grpc.StatusCode.UNAVAILABLE, self.refusal)
        self.triggered.append(request.epoch)
        asyncio.get_running_loop().call_soon(self.on_trigger, request.epoch)
        async with self._changed:
            self._changed.notify_all()
        return worker_pb2.TriggerCheckpointResponse()

    async def CommitCheckpoint(self, request, context):
        self.committed.append(request.epoch)
        async with self._changed:
            self._changed.notify_all()
        return worker_pb2.CommitCheckpointResponse()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / 'weir.db'}"
        else:
            url = stack.enter_context(fresh_postgres_database())
        opened = stack.enter_context(Store(url))
        opened.migrate()
        yield opened


def add_job(store: Store, retained: int = 5, restore_checkpoint_id: str | None = None, job_id: str = "job_1"):
    if store.get_pipeline("pipe_1") is None:
        store.create_pipeline(
            PipelineRecord("pipe_1", "p", "SELECT 1", 2, 100, T0, b"", checkpoints_retained=retained)
        )
    return store.create_job(
        "pipe_1", job_id, 2, T0, dataflow=b"", restore_checkpoint_id=restore_checkpoint_id
    )


Scenario = Callable[
    [CheckpointCoordinator, RecordingWorker, dict[str, list[worker_pb2.TaskSpec]]], Awaitable[None]
]


def run(store: Store, url: str, scenario: Scenario, *, timeout_s: float = 10.0, job=None) -> None:
    async def main() -> None:
        worker = RecordingWorker()
        server, port = await start_server(
            [Servicer(worker_pb2_grpc.add_WorkerServiceServicer_to_server, worker, "weir.v1.WorkerService")],
            "127.0.0.1",
            0,
        )
        registry = WorkerRegistry()
        handle = await registry.register(f"127.0.0.1:{port}", 1, 4)
        placements = {handle.id: [worker_pb2.TaskSpec(task_id=t) for t in TASKS]}
        coordinator = CheckpointCoordinator(job or add_job(store), store, registry, url, timeout_s=timeout_s)
        try:
            await scenario(coordinator, worker, placements)
        finally:
            await coordinator.close()
            await registry.close()
            await server.stop(grace=None)

    asyncio.run(main())


async def store_round_trip(store: Store) -> None:
    await asyncio.to_thread(store.list_checkpoints, "job_1")


def acknowledge_all(coordinator: CheckpointCoordinator, size: int = 100) -> Callable[[int], None]:
    def ack(epoch: int) -> None:
        for index, task_id in enumerate(TASKS):
            coordinator.acknowledge(task_id, epoch, [SubtaskStateSize("source_1", index, size + index)])

    return ack


def test_checkpoint_completes_when_every_task_acknowledged(store: Store, tmp_path: Path) -> None:
    url = (tmp_path / "checkpoints").as_uri()

    async def scenario(coordinator, worker, placements) -> None:
        worker.on_trigger = acknowledge_all(coordinator)
        first = await coordinator.checkpoint(placements, TASKS)
        second = await coordinator.checkpoint(placements, TASKS)
        assert first is not None and second is not None
        assert (first.epoch, second.epoch) == (1, 2)
        assert first.state == "completed" and first.size_bytes == 201
        assert first.subtask_states == (
            SubtaskStateSize("source_1", 0, 100),
            SubtaskStateSize("source_1", 1, 101),
        )
        assert first.location == epoch_location(url, "job_1", 1) == f"{url}/job_1/epoch_1"
        assert first.backend == "filesystem"
        assert worker.triggered == [1, 2] and worker.committed == [1, 2]

    run(store, url, scenario)
    assert latest_restore_point(store, store.get_job("job_1")).epoch == 2


def test_a_task_that_never_acknowledges_fails_the_checkpoint_at_the_timeout(
    store: Store, tmp_path: Path
) -> None:
    url = (tmp_path / "checkpoints").as_uri()
    epoch_dir = tmp_path / "checkpoints" / "job_1" / "epoch_1" / "source_1"

    async def scenario(coordinator, worker, placements) -> None:
        def half(epoch: int) -> None:
            epoch_dir.mkdir(parents=True)  # what the acknowledging task wrote
            (epoch_dir / "0.parquet").write_bytes(b"x")
            coordinator.acknowledge(TASKS[0], epoch, [])

        worker.on_trigger = half
        assert await coordinator.checkpoint(placements, TASKS) is None
        assert worker.committed == []

    run(store, url, scenario, timeout_s=0.3)
    [failed], _ = store.list_checkpoints("job_1")
    assert failed.state == "failed" and "source_1.1" in failed.failure_message
    assert failed.finish_time is not None
    assert not (tmp_path / "checkpoints" / "job_1" / "epoch_1").exists()
    assert latest_restore_point(store, store.get_job("job_1")) is None


def test_a_task_ending_before_acknowledging_fails_the_checkpoint_at_once(
    store: Store, tmp_path: Path
) -> None:
    async def scenario(coordinator, worker, placements) -> None:
        worker.on_trigger = lambda epoch: coordinator.task_ended(TASKS[1])
        assert await coordinator.checkpoint(placements, TASKS) is None

    run(store, (tmp_path / "c").as_uri(), scenario, timeout_s=30)
    [failed], _ = store.list_checkpoints("job_1")
    assert "ended before acknowledging" in failed.failure_message


def test_at_most_one_checkpoint_is_in_flight(store: Store, tmp_path: Path) -> None:
    async def scenario(coordinator, worker, placements) -> None:
        first = asyncio.create_task(coordinator.checkpoint(placements, TASKS))
        second = asyncio.create_task(coordinator.checkpoint(placements, TASKS))
        await worker.until(lambda: len(worker.triggered) == 1)
        # A wrongly concurrent second attempt would trigger within these round trips.
        for _ in range(3):
            await store_round_trip(store)
        assert worker.triggered == [1]
        acknowledge_all(coordinator)(1)
        assert (await first).epoch == 1
        await worker.until(lambda: len(worker.triggered) == 2)
        acknowledge_all(coordinator)(2)
        assert (await second).epoch == 2

    run(store, (tmp_path / "c").as_uri(), scenario)


def test_a_cancelled_caller_leaves_the_attempt_to_finish(store: Store, tmp_path: Path) -> None:
    async def scenario(coordinator, worker, placements) -> None:
        caller = asyncio.create_task(coordinator.checkpoint(placements, TASKS))
        await worker.until(lambda: bool(worker.triggered))
        caller.cancel()
        acknowledge_all(coordinator)(1)
        await worker.until(lambda: bool(worker.committed))

    run(store, (tmp_path / "c").as_uri(), scenario)
    assert store.latest_completed_checkpoint("job_1").epoch == 1


def test_abort_fails_the_checkpoint_in_flight(store: Store, tmp_path: Path) -> None:
    async def scenario(coordinator, worker, placements) -> None:
        worker.on_trigger = lambda epoch: coordinator.abort("the job is recovering")
        assert await coordinator.checkpoint(placements, TASKS) is None

    run(store, (tmp_path / "c").as_uri(), scenario)
    [failed], _ = store.list_checkpoints("job_1")
    assert failed.failure_message == "the job is recovering"


def test_retention_keeps_the_pipelines_number_of_completed_checkpoints(store: Store, tmp_path: Path) -> None:
    root = tmp_path / "checkpoints"

    async def scenario(coordinator, worker, placements) -> None:
        def write_and_ack(epoch: int) -> None:
            (root / "job_1" / f"epoch_{epoch}" / "source_1").mkdir(parents=True)
            acknowledge_all(coordinator)(epoch)

        worker.on_trigger = write_and_ack
        for _ in range(5):
            assert await coordinator.checkpoint(placements, TASKS) is not None

    run(store, root.as_uri(), scenario, job=add_job(store, retained=2))
    kept, _ = store.list_checkpoints("job_1")
    assert [c.epoch for c in kept] == [5, 4]
    assert sorted(p.name for p in (root / "job_1").iterdir()) == ["epoch_4", "epoch_5"]


def test_a_restored_job_continues_the_epochs_of_its_checkpoint(store: Store, tmp_path: Path) -> None:
    url = (tmp_path / "c").as_uri()

    async def three(coordinator, worker, placements) -> None:
        worker.on_trigger = acknowledge_all(coordinator)
        for _ in range(3):
            await coordinator.checkpoint(placements, TASKS)

    run(store, url, three)
    source = store.latest_completed_checkpoint("job_1")
    store.transition_job("job_1", "Stopped", T0)
    restored = add_job(store, restore_checkpoint_id=source.id, job_id="job_2")
    assert latest_restore_point(store, restored) == source

    async def one(coordinator, worker, placements) -> None:
        worker.on_trigger = acknowledge_all(coordinator)
        assert (await coordinator.checkpoint(placements, TASKS)).epoch == 4

    run(store, url, one, job=restored)
    assert latest_restore_point(store, restored).job_id == "job_2"


def test_a_worker_that_cannot_be_reached_fails_the_checkpoint(store: Store, tmp_path: Path) -> None:
    async def scenario(coordinator, worker, placements) -> None:
        placements = {**placements, "wrk_gone": [worker_pb2.TaskSpec(task_id="x.0")]}
        assert await coordinator.checkpoint(placements, [*TASKS, "x.0"]) is None

    run(store, (tmp_path / "c").as_uri(), scenario)
    [failed], _ = store.list_checkpoints("job_1")
    assert "wrk_gone is gone" in failed.failure_message


def test_grpc_errors_of_a_trigger_are_reported(store: Store, tmp_path: Path) -> None:
    async def scenario(coordinator, worker, placements) -> None:
        worker.refusal = "worker shutting down"
        assert await coordinator.checkpoint(placements, TASKS) is None

    run(store, (tmp_path / "c").as_uri(), scenario)
    [failed], _ = store.list_checkpoints("job_1")
    assert "worker shutting down" in failed.failure_message


def test_abort_also_drops_the_checkpoint_queued_behind_the_one_in_flight(
    store: Store, tmp_path: Path
) -> None:
    async def scenario(coordinator, worker, placements) -> None:
        in_flight = asyncio.create_task(coordinator.checkpoint(placements, TASKS))
        await worker.until(lambda: bool(worker.triggered))
        queued = asyncio.create_task(coordinator.checkpoint(placements, TASKS))
        await store_round_trip(store)
        coordinator.abort("the stop's timeout passed")
        assert await in_flight is None and await queued is None
        assert worker.triggered == [1]

    run(store, (tmp_path / "c").as_uri(), scenario)
    assert [c.state for c in store.list_checkpoints("job_1")[0]] == ["failed"]
