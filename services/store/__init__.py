"""The controller's store: pipelines, jobs, job state history, checkpoints, and job logs and
errors, in SQLite or PostgreSQL.

`Store` is the API (sync; async callers use `asyncio.to_thread`); it takes and returns the
immutable records of `records`. `JobLogStore` keeps job logs and errors (bounded per job by
`LogRetention`) in the same database. `models` holds the tables, `migrations` the Alembic scripts
that create them.
"""

from services.store.errors import AlreadyExists, NotFound, ReadOnlyStore, StoreError
from services.store.job_log_store import (
    ERROR_LEVELS,
    LOG_LEVELS,
    JobErrorRecord,
    JobLogRecord,
    JobLogStore,
    LogRetention,
)
from services.store.records import (
    CHECKPOINT_STATES,
    DEFAULT_CHECKPOINTS_RETAINED,
    FINAL_JOB_STATES,
    JOB_SORT_FIELDS,
    JOB_STATES,
    CheckpointRecord,
    JobQuery,
    JobRecord,
    JobSummary,
    PipelineRecord,
    StateTransition,
    SubtaskStateSize,
)
from services.store.store import Store

__all__ = [
    "CHECKPOINT_STATES",
    "DEFAULT_CHECKPOINTS_RETAINED",
    "ERROR_LEVELS",
    "FINAL_JOB_STATES",
    "JOB_SORT_FIELDS",
    "JOB_STATES",
    "LOG_LEVELS",
    "AlreadyExists",
    "CheckpointRecord",
    "JobErrorRecord",
    "JobLogRecord",
    "JobLogStore",
    "JobQuery",
    "JobRecord",
    "JobSummary",
    "LogRetention",
    "NotFound",
    "PipelineRecord",
    "ReadOnlyStore",
    "StateTransition",
    "Store",
    "StoreError",
    "SubtaskStateSize",
]
