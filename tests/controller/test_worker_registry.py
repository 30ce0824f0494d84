"""How the controller learns that a worker is gone: its heartbeats stop (the deadline), or a new
worker registers at its address (weir up restarted it on the same port, so it cannot be alive).
Either way every listener hears of it once, and its slots are no longer offered."""

from __future__ import annotations

import asyncio

from services.controller.workers import WorkerHandle, WorkerRegistry


def test_a_worker_that_stops_heartbeating_is_declared_lost_once() -> None:
    async def main() -> None:
        registry = WorkerRegistry(lost_after_ms=200)
        lost: list[str] = []
        registry.on_worker_lost(lambda w: lost.append(w.id))
        silent = await registry.register("127.0.0.1:1", pid=1, slots=4)
        talking = await registry.register("127.0.0.1:2", pid=2, slots=4)
        watcher = asyncio.create_task(registry.watch(check_interval_s=0.05))
        try:
            async with asyncio.timeout(10):
                while not lost:
                    registry.heartbeat(talking.id)
                    await asyncio.sleep(0.05)
                # A few more checks must not announce it again.
                for _ in range(5):
                    registry.heartbeat(talking.id)
                    await asyncio.sleep(0.05)
        finally:
            watcher.cancel()
            await registry.close()
        assert lost == [silent.id]
        assert registry.live() == [talking]
        assert registry.total_free_slots() == 4
        assert not registry.heartbeat(silent.id), "a lost worker must register again"

    asyncio.run(main())


def test_a_new_registration_at_a_live_workers_address_replaces_it_at_once() -> None:
    async def main() -> None:
        registry = WorkerRegistry()
        lost: list[WorkerHandle] = []
        registry.on_worker_lost(lost.append)
        old = await registry.register("127.0.0.1:7000", pid=10, slots=4)
        old.tasks.add(("job-1", "source_1.0"))
        other = await registry.register("127.0.0.1:7001", pid=11, slots=4)
        new = await registry.register("127.0.0.1:7000", pid=12, slots=4)
        await registry.close()
        assert [w.id for w in lost] == [old.id]
        assert old.lost and not old.tasks
        assert {w.id for w in registry.live()} == {other.id, new.id}

    asyncio.run(main())


def test_slots_of_jobs_with_the_same_task_ids_are_counted_and_released_apart() -> None:
    """Task ids repeat from job to job (`source_1.0` in every job with a source): a second
    job's task must take a slot of its own, and releasing one job must not free the other's."""

    async def main() -> None:
        registry = WorkerRegistry()
        worker = await registry.register("127.0.0.1:7000", pid=10, slots=4)
        for job_id in ("job-1", "job-2"):
            worker.tasks.update({(job_id, "source_1.0"), (job_id, "source_1.1")})
        assert worker.free_slots == 0
        await registry.release_job("job-1")
        await registry.close()
        assert worker.free_slots == 2
        assert worker.tasks == {("job-2", "source_1.0"), ("job-2", "source_1.1")}

    asyncio.run(main())
