"""The store's tables as typed SQLAlchemy declarative models.

These classes are the schema's source of truth for Alembic (`target_metadata`); the schema
itself is created only by the migration scripts in `migrations/versions/`, and a test checks
that the two agree. Adding a table means: a model here plus a new migration script.

Timestamps are DOUBLE PRECISION milliseconds since the Unix epoch: the same float the API
carries (a proto `double`), exact for integral values up to 2^53, with no conversions.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Double,
    ForeignKey,
    Index,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from services.store.records import (
    DEFAULT_CHECKPOINTS_RETAINED,
    CheckpointRecord,
    JobRecord,
    PipelineRecord,
    StateTransition,
    SubtaskStateSize,
)

# Deterministic constraint and index names, so later migrations (including SQLite batch
# migrations, which recreate tables) can refer to them by name on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ID = String(64)  # prefixed ULIDs (`job_01J...`) are 26 characters plus the prefix


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class PipelineRow(Base):
    __tablename__ = "pipelines"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    query: Mapped[str] = mapped_column(Text)
    parallelism: Mapped[int]
    checkpoint_interval_ms: Mapped[int]
    created_at: Mapped[float] = mapped_column(Double, index=True)
    dataflow: Mapped[bytes] = mapped_column(LargeBinary)
    checkpoints_retained: Mapped[int] = mapped_column(server_default=str(DEFAULT_CHECKPOINTS_RETAINED))

    def to_record(self) -> PipelineRecord:
        return PipelineRecord(
            id=self.id,
            name=self.name,
            query=self.query,
            parallelism=self.parallelism,
            checkpoint_interval_ms=self.checkpoint_interval_ms,
            created_at=self.created_at,
            dataflow=self.dataflow,
            checkpoints_retained=self.checkpoints_retained,
        )


class JobRow(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        # One run number per pipeline; also the index behind the pipeline_id filter.
        UniqueConstraint("pipeline_id", "run_id"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    # ON DELETE CASCADE: deleting a pipeline deletes its jobs in the database itself.
    pipeline_id: Mapped[str] = mapped_column(ID, ForeignKey("pipelines.id", ondelete="CASCADE"))
    run_id: Mapped[int]
    # Indexed for the list filters and the default sort (created_at).
    state: Mapped[str] = mapped_column(String(16), index=True)
    running_desired: Mapped[bool] = mapped_column(index=True)
    parallelism: Mapped[int]
    # Tasks (chained subtasks) the job runs; 0 until the scheduler has placed them.
    tasks: Mapped[int]
    created_at: Mapped[float] = mapped_column(Double, index=True)
    start_time: Mapped[float | None] = mapped_column(Double)
    finish_time: Mapped[float | None] = mapped_column(Double)
    failure_message: Mapped[str | None] = mapped_column(Text)
    # This run's own plan (a serialized weir.v1.Dataflow): a restart may change parallelism,
    # and a resumed job must run exactly the plan it started with.
    dataflow: Mapped[bytes] = mapped_column(LargeBinary)
    # The checkpoint this job was started from (no foreign key: it may be of another job, and
    # retention may delete it once no unfinished job needs it).
    restore_checkpoint_id: Mapped[str | None] = mapped_column(ID)

    # Loaded with one extra IN query per batch of jobs, inside the same transaction.
    history: Mapped[list[JobStateTransitionRow]] = relationship(
        order_by="JobStateTransitionRow.seq", lazy="selectin", passive_deletes=True
    )

    def to_record(self) -> JobRecord:
        return JobRecord(
            id=self.id,
            pipeline_id=self.pipeline_id,
            run_id=self.run_id,
            state=self.state,
            running_desired=self.running_desired,
            parallelism=self.parallelism,
            tasks=self.tasks,
            created_at=self.created_at,
            start_time=self.start_time,
            finish_time=self.finish_time,
            failure_message=self.failure_message,
            dataflow=self.dataflow,
            state_history=tuple(StateTransition(t.state, t.at_ms) for t in self.history),
            restore_checkpoint_id=self.restore_checkpoint_id,
        )


class JobStateTransitionRow(Base):
    """One state a job entered; `seq` counts the job's transitions from 1 and fixes their order."""

    __tablename__ = "job_state_transitions"

    job_id: Mapped[str] = mapped_column(ID, ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    state: Mapped[str] = mapped_column(String(16))
    at_ms: Mapped[float] = mapped_column(Double)


class CheckpointRow(Base):
    """One checkpoint of a job; its per-subtask sizes are rows of `checkpoint_subtask_states`."""

    __tablename__ = "checkpoints"
    __table_args__ = (
        # One checkpoint per epoch of a job; also the index behind listing a job's checkpoints.
        UniqueConstraint("job_id", "epoch"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    job_id: Mapped[str] = mapped_column(ID, ForeignKey("jobs.id", ondelete="CASCADE"))
    epoch: Mapped[int]
    state: Mapped[str] = mapped_column(String(16))
    start_time: Mapped[float] = mapped_column(Double)
    finish_time: Mapped[float | None] = mapped_column(Double)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    backend: Mapped[str] = mapped_column(String(32))
    location: Mapped[str] = mapped_column(Text)
    failure_message: Mapped[str | None] = mapped_column(Text)

    subtask_states: Mapped[list[CheckpointSubtaskStateRow]] = relationship(
        order_by="(CheckpointSubtaskStateRow.operator_id, CheckpointSubtaskStateRow.subtask_index)",
        lazy="selectin",
        passive_deletes=True,
    )

    def to_record(self) -> CheckpointRecord:
        return CheckpointRecord(
            id=self.id,
            job_id=self.job_id,
            epoch=self.epoch,
            state=self.state,
            start_time=self.start_time,
            finish_time=self.finish_time,
            size_bytes=self.size_bytes,
            backend=self.backend,
            location=self.location,
            failure_message=self.failure_message,
            subtask_states=tuple(
                SubtaskStateSize(s.operator_id, s.subtask_index, s.size_bytes) for s in self.subtask_states
            ),
        )


class CheckpointSubtaskStateRow(Base):
    """The bytes one subtask of one operator wrote into a checkpoint."""

    __tablename__ = "checkpoint_subtask_states"

    checkpoint_id: Mapped[str] = mapped_column(
        ID, ForeignKey("checkpoints.id", ondelete="CASCADE"), primary_key=True
    )
    operator_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    subtask_index: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    size_bytes: Mapped[int] = mapped_column(BigInteger)


class JobLogRow(Base):
    """One log entry of a job, from the controller (no operator, no task) or a worker."""

    __tablename__ = "job_logs"
    __table_args__ = (
        # Newest-first pages of one job, and finding the oldest entry retention keeps.
        Index("ix_job_logs_job_id_timestamp_id", "job_id", "timestamp", "id"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    job_id: Mapped[str] = mapped_column(ID, ForeignKey("jobs.id", ondelete="CASCADE"))
    # Indexed for the age sweep over every job.
    timestamp: Mapped[float] = mapped_column(Double, index=True)
    level: Mapped[str] = mapped_column(String(8))
    operator_id: Mapped[str] = mapped_column(String(128))
    task_index: Mapped[int | None]
    message: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)


class JobErrorRow(Base):
    """One error or warning of a job, with the text of the record that caused it."""

    __tablename__ = "job_errors"
    __table_args__ = (Index("ix_job_errors_job_id_timestamp_id", "job_id", "timestamp", "id"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    job_id: Mapped[str] = mapped_column(ID, ForeignKey("jobs.id", ondelete="CASCADE"))
    timestamp: Mapped[float] = mapped_column(Double, index=True)
    level: Mapped[str] = mapped_column(String(8))
    operator_id: Mapped[str] = mapped_column(String(128))
    task_index: Mapped[int | None]
    message: Mapped[str] = mapped_column(Text)
    details: Mapped[str] = mapped_column(Text)
    record: Mapped[str] = mapped_column(Text)
