"""Starting a job: persist it as Created (with the next run_id of its pipeline and the
checkpoint it restores, if any), then hand it to the supervisors. Used by pipeline creation
and by restart."""

from __future__ import annotations

import asyncio

from services.clock import now_ms
from services.controller.lifecycle.supervisor import JobSupervisors
from services.ids import new_id
from services.store import JobRecord, PipelineRecord, Store
from weir.v1 import dataflow_pb2


class JobStarter:
    def __init__(self, store: Store, supervisors: JobSupervisors) -> None:
        self._store = store
        self._supervisors = supervisors

    async def start(
        self,
        pipeline: PipelineRecord,
        parallelism: int,
        dataflow: dataflow_pb2.Dataflow,
        restore_checkpoint_id: str | None = None,
    ) -> JobRecord:
        job = await asyncio.to_thread(
            self._store.create_job,
            pipeline.id,
            new_id("job"),
            parallelism,
            now_ms(),
            dataflow=dataflow.SerializeToString(),
            restore_checkpoint_id=restore_checkpoint_id,
        )
        self._supervisors.supervise(job, dataflow)
        return job
