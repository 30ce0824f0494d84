"""The store's value types: immutable records handed to and returned by `Store`.

Callers (the controller's servicers and state machine, the metrics service) work with these
frozen dataclasses, never with ORM rows, so nothing they hold can lazily hit the database or
change under them. Timestamps are milliseconds since the Unix epoch as floats, exactly like
the API's `double` timestamps (see services/clock.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

# The spec's job state words, in lifecycle order (spec/jobs-api.md, "Job States").
JOB_STATES: tuple[str, ...] = (
    "Created",
    "Scheduling",
    "Running",
    "Stopping",
    "Stopped",
    "Failed",
    "Finished",
    "Rescaling",
    "Recovering",
)
# A job in one of these states is over: it has a finish_time and is not reconciled.
FINAL_JOB_STATES: frozenset[str] = frozenset({"Stopped", "Failed", "Finished"})

# Fields `JobQuery.sort_field` accepts; ties are always broken by `id` (creation order).
JOB_SORT_FIELDS: frozenset[str] = frozenset(
    {"id", "created_at", "start_time", "finish_time", "run_id", "state", "pipeline_id"}
)


# The spec's checkpoint state words (Checkpoint.State in checkpoints.proto).
CHECKPOINT_STATES: tuple[str, ...] = ("in_progress", "completed", "failed")
DEFAULT_CHECKPOINTS_RETAINED = 5


def check_job_state(state: str) -> str:
    """Return `state` if it is one of the spec's words, else raise ValueError."""
    if state not in JOB_STATES:
        raise ValueError(f"unknown job state {state!r}; expected one of {', '.join(JOB_STATES)}")
    return state


@dataclass(frozen=True)
class PipelineRecord:
    """A submitted pipeline: its SQL and the dataflow it was planned into."""

    id: str
    name: str
    query: str
    parallelism: int
    checkpoint_interval_ms: int
    created_at: float
    dataflow: bytes  # a serialized weir.v1.Dataflow; the store does not look inside
    # How many completed checkpoints each job of the pipeline keeps (the newest ones).
    checkpoints_retained: int = DEFAULT_CHECKPOINTS_RETAINED


class StateTransition(NamedTuple):
    """One entry of a job's state history: the state entered and when (ms)."""

    state: str
    at_ms: float


@dataclass(frozen=True)
class JobSummary:
    """A job as the API lists and shows it: its row without the plan and the state history,
    which no listing needs and which cost most of a page's load time."""

    id: str
    pipeline_id: str
    run_id: int
    state: str
    running_desired: bool
    parallelism: int
    tasks: int
    created_at: float
    start_time: float | None
    finish_time: float | None
    failure_message: str | None


@dataclass(frozen=True)
class JobRecord(JobSummary):
    """One run of a pipeline: the user's intent (`running_desired`) and what is true (`state`),
    with everything the controller needs to run it."""

    # Every state the job entered, oldest first, like Flink's per-state timestamps.
    state_history: tuple[StateTransition, ...]
    # This run's plan, a serialized weir.v1.Dataflow (the store does not look inside).
    dataflow: bytes
    # The checkpoint (possibly of an earlier run) this job was started from; None: no state.
    restore_checkpoint_id: str | None = None


@dataclass(frozen=True)
class JobQuery:
    """Filters (AND-combined), sort and page for `Store.list_jobs`.

    `running` filters on `running_desired`, as the API's `running` parameter does. Rows without
    the sort value (e.g. `finish_time` of an unfinished job) come last in either direction.
    """

    pipeline_id: str | None = None
    state: str | None = None
    running: bool | None = None
    limit: int = 20
    offset: int = 0
    sort_field: str = "created_at"
    descending: bool = True

    def __post_init__(self) -> None:
        if self.state is not None:
            check_job_state(self.state)
        if self.sort_field not in JOB_SORT_FIELDS:
            expected = ", ".join(sorted(JOB_SORT_FIELDS))
            raise ValueError(f"cannot sort jobs by {self.sort_field!r}; expected one of {expected}")
        if self.limit < 0 or self.offset < 0:
            raise ValueError("limit and offset must not be negative")


class SubtaskStateSize(NamedTuple):
    """How many bytes one subtask of one operator wrote into a checkpoint."""

    operator_id: str
    subtask_index: int
    size_bytes: int


@dataclass(frozen=True)
class CheckpointRecord:
    """One checkpoint of a job: the epoch, where its files are, and what each subtask wrote.

    `state` is `in_progress` until every task acknowledged (`completed`) or it timed out or a
    task ended without acknowledging (`failed`, with `failure_message`)."""

    id: str
    job_id: str
    epoch: int
    state: str
    start_time: float
    finish_time: float | None
    size_bytes: int
    backend: str
    location: str
    failure_message: str | None
    subtask_states: tuple[SubtaskStateSize, ...]
