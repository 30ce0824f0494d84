"""RestartJob's choice of checkpoint, through the real JobService on a real gRPC server and a
real store: the named completed checkpoint of the job, by default the latest restore point,
`none` for no state; clear errors for another job's, an unfinished or a malformed one."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import grpc

from services.controller.api.jobs import JobServicer
from services.controller.job_starter import JobStarter
from services.controller.lifecycle.supervisor import JobSupervisors
from services.controller.workers import WorkerRegistry
from services.ids import new_id
from services.paths import PathPolicy
from services.serving import Servicer, insecure_channel, start_server
from services.store import PipelineRecord, Store
from weir.v1 import jobs_pb2, jobs_pb2_grpc

T0 = 1_704_067_200_000.0
QUERY = "CREATE TABLE impulse WITH (connector = 'impulse', event_rate = '10'); SELECT counter FROM impulse"


def stopped_job(store: Store, pipeline_id: str) -> str:
    job_id = new_id("job")
    store.create_job(pipeline_id, job_id, 1, T0, dataflow=b"")
    store.transition_job(job_id, "Stopped", T0)
    return job_id


def checkpoint(store: Store, job_id: str, epoch: int, *, complete: bool = True) -> str:
    checkpoint_id = new_id("chk")
    store.create_checkpoint(checkpoint_id, job_id, epoch, T0, backend="filesystem", location=f"x/{epoch}")
    if complete:
        store.complete_checkpoint(checkpoint_id, T0, [])
    return checkpoint_id


def run(
    tmp_path: Path, scenario: Callable[[Store, jobs_pb2_grpc.JobServiceStub, str], Awaitable[None]]
) -> None:
    async def main() -> None:
        with Store(f"sqlite:///{tmp_path / 'weir.db'}") as store:
            store.migrate()
            pipeline = PipelineRecord(new_id("pipe"), "p", QUERY, 1, 10_000, T0, b"")
            store.create_pipeline(pipeline)
            workers = WorkerRegistry()
            # No workers: restarted jobs stay in Scheduling, which is all these tests need.
            supervisors = JobSupervisors(store, workers, (tmp_path / "checkpoints").as_uri())
            servicer = JobServicer(
                store,
                supervisors,
                JobStarter(store, supervisors),
                None,
                PathPolicy([tmp_path]),  # type: ignore[arg-type]
            )
            server, port = await start_server(
                [Servicer(jobs_pb2_grpc.add_JobServiceServicer_to_server, servicer, "weir.v1.JobService")],
                "127.0.0.1",
                0,
            )
            channel = insecure_channel(f"127.0.0.1:{port}")
            try:
                await scenario(store, jobs_pb2_grpc.JobServiceStub(channel), pipeline.id)
            finally:
                await channel.close()
                await supervisors.close()
                await server.stop(grace=None)

    asyncio.run(main())


async def restart(stub: jobs_pb2_grpc.JobServiceStub, job_id: str, checkpoint_id: str = "") -> str:
    response = await stub.RestartJob(jobs_pb2.RestartJobRequest(job_id=job_id, checkpoint_id=checkpoint_id))
    return response.new_job_id


async def refused(
    stub: jobs_pb2_grpc.JobServiceStub, job_id: str, checkpoint_id: str
) -> grpc.aio.AioRpcError:
    try:
        await restart(stub, job_id, checkpoint_id)
    except grpc.aio.AioRpcError as error:
        return error
    raise AssertionError(f"restart of {job_id} from {checkpoint_id!r} was accepted")


def test_restart_restores_the_chosen_or_the_latest_completed_checkpoint(tmp_path: Path) -> None:
    async def scenario(store: Store, stub: jobs_pb2_grpc.JobServiceStub, pipeline_id: str) -> None:
        job_id = stopped_job(store, pipeline_id)
        older = checkpoint(store, job_id, 1)
        latest = checkpoint(store, job_id, 2)
        checkpoint(store, job_id, 3, complete=False)

        chosen = store.get_job(await restart(stub, job_id, older))
        assert chosen.restore_checkpoint_id == older and chosen.run_id == 2
        assert store.get_job(await restart(stub, job_id)).restore_checkpoint_id == latest
        assert store.get_job(await restart(stub, job_id, "none")).restore_checkpoint_id is None

    run(tmp_path, scenario)


def test_a_job_without_checkpoints_restarts_from_what_it_was_restored_from(tmp_path: Path) -> None:
    async def scenario(store: Store, stub: jobs_pb2_grpc.JobServiceStub, pipeline_id: str) -> None:
        first = stopped_job(store, pipeline_id)
        source = checkpoint(store, first, 1)
        second = store.create_job(
            pipeline_id, new_id("job"), 1, T0, dataflow=b"", restore_checkpoint_id=source
        )
        store.transition_job(second.id, "Failed", T0)

        assert store.get_job(await restart(stub, second.id)).restore_checkpoint_id == source

    run(tmp_path, scenario)


def test_restart_refuses_checkpoints_it_cannot_restore(tmp_path: Path) -> None:
    async def scenario(store: Store, stub: jobs_pb2_grpc.JobServiceStub, pipeline_id: str) -> None:
        job_id = stopped_job(store, pipeline_id)
        other = stopped_job(store, pipeline_id)
        unfinished = checkpoint(store, job_id, 1, complete=False)
        failed = checkpoint(store, job_id, 2, complete=False)
        store.fail_checkpoints(job_id, T0, "timed out", checkpoint_id=failed)
        theirs = checkpoint(store, other, 1)

        error = await refused(stub, job_id, theirs)
        assert error.code() == grpc.StatusCode.NOT_FOUND and theirs in error.details()
        for checkpoint_id, state in ((failed, "failed"), (unfinished, "in_progress")):
            error = await refused(stub, job_id, checkpoint_id)
            assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
            assert state in error.details() and "not completed" in error.details()
        error = await refused(stub, job_id, "latest")
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT and "'none'" in error.details()

    run(tmp_path, scenario)
