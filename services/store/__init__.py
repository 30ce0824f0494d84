"""The controller's store: pipelines, jobs, job state history and checkpoints in SQLite or PostgreSQL.

`Store` is the API (sync; async callers use `asyncio.to_thread`); it takes and returns the
immutable records of `records`. `models` holds the tables, `migrations` the Alembic scripts
that create them.
"""

from services.store.errors import AlreadyExists, NotFound, ReadOnlyStore, StoreError
from services.store.records import (
    CHECKPOINT_STATES,
    DEFAULT_CHECKPOINTS_RETAINED,
    FINAL_JOB_STATES,
    JOB_SORT_FIELDS,
    JOB_STATES,
    CheckpointRecord,
    JobQuery,
    JobRecord,
    PipelineRecord,
    StateTransition,
    SubtaskStateSize,
)
from services.store.store import Store

__all__ = [
    "CHECKPOINT_STATES",
    "DEFAULT_CHECKPOINTS_RETAINED",
    "FINAL_JOB_STATES",
    "JOB_SORT_FIELDS",
    "JOB_STATES",
    "AlreadyExists",
    "CheckpointRecord",
    "JobQuery",
    "JobRecord",
    "NotFound",
    "PipelineRecord",
    "ReadOnlyStore",
    "StateTransition",
    "Store",
    "StoreError",
    "SubtaskStateSize",
]
