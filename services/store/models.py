"""The store's tables as typed SQLAlchemy declarative models.

These classes are the schema's source of truth for Alembic (`target_metadata`); the schema
itself is created only by the migration scripts in `migrations/versions/`, and a test checks
that the two agree. Adding a table (checkpoints, logs, errors) means: a model here plus a new
migration script.

Timestamps are DOUBLE PRECISION milliseconds since the Unix epoch: the same float the API
carries (a proto `double`), exact for integral values up to 2^53, with no conversions.
"""

from __future__ import annotations

from sqlalchemy import Double, ForeignKey, LargeBinary, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from services.store.records import JobRecord, PipelineRecord, StateTransition

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

    def to_record(self) -> PipelineRecord:
        return PipelineRecord(
            id=self.id,
            name=self.name,
            query=self.query,
            parallelism=self.parallelism,
            checkpoint_interval_ms=self.checkpoint_interval_ms,
            created_at=self.created_at,
            dataflow=self.dataflow,
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
        )


class JobStateTransitionRow(Base):
    """One state a job entered; `seq` counts the job's transitions from 1 and fixes their order."""

    __tablename__ = "job_state_transitions"

    job_id: Mapped[str] = mapped_column(ID, ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    state: Mapped[str] = mapped_column(String(16))
    at_ms: Mapped[float] = mapped_column(Double)
