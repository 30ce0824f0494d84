"""The production `JobCatalog`: the controller's store, opened read-only.

The controller is the store's only writer; the metrics service only reads which jobs exist
and the plan each was started with.
"""

from __future__ import annotations

import asyncio

from services.metrics.catalog import OperatorInfo, operators_of
from services.store import Store
from weir.v1 import dataflow_pb2


class StoreJobCatalog:
    def __init__(self, database_url: str) -> None:
        self._store = Store(database_url, read_only=True)

    async def get_job_operators(self, job_id: str) -> list[OperatorInfo] | None:
        job = await asyncio.to_thread(self._store.get_job, job_id)
        if job is None:
            return None
        return operators_of(dataflow_pb2.Dataflow.FromString(job.dataflow))

    def close(self) -> None:
        self._store.close()
