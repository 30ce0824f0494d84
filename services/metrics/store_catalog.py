"""The production `JobCatalog`: the jobs and plans in the controller's store.

The metrics service opens the store writable but writes only its own two tables, `job_logs`
and `job_errors` (through `JobLogStore`, sharing this `Store`); everything else it only
reads, and it never migrates (the controller does).
"""

from __future__ import annotations

import asyncio

from services.metrics.catalog import OperatorInfo, operators_of
from services.store import JobRecord, Store
from weir.v1 import dataflow_pb2


class StoreJobCatalog:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def get_job_operators(self, job_id: str) -> list[OperatorInfo] | None:
        job = await asyncio.to_thread(self._store.get_job, job_id)
        if job is None:
            return None
        return operators_of(dataflow_pb2.Dataflow.FromString(job.dataflow))

    async def get_job(self, job_id: str) -> JobRecord | None:
        """The job as the controller last stored it: live views follow its state."""
        return await asyncio.to_thread(self._store.get_job, job_id)
