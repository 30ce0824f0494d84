"""The controller's store: pipelines, jobs and job state history in SQLite or PostgreSQL.

`Store` is the API (sync; async callers use `asyncio.to_thread`); it takes and returns the
immutable records of `records`. `models` holds the tables, `migrations` the Alembic scripts
that create them.
"""

from services.store.errors import AlreadyExists, NotFound, ReadOnlyStore, StoreError
from services.store.records import (
    FINAL_JOB_STATES,
    JOB_SORT_FIELDS,
    JOB_STATES,
    JobQuery,
    JobRecord,
    PipelineRecord,
    StateTransition,
)
from services.store.store import Store

__all__ = [
    "FINAL_JOB_STATES",
    "JOB_SORT_FIELDS",
    "JOB_STATES",
    "AlreadyExists",
    "JobQuery",
    "JobRecord",
    "NotFound",
    "PipelineRecord",
    "ReadOnlyStore",
    "StateTransition",
    "Store",
    "StoreError",
]
