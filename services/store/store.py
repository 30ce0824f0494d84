"""`Store`: the controller's persistent state (pipelines, jobs, job state history, checkpoints).

Every public method is one short database transaction and returns immutable records, so the
async servicers can call it through `asyncio.to_thread` and share one `Store` between threads.
The controller is the only writer; the metrics service opens the same database with
`read_only=True` and reads jobs and pipelines through the same methods.

Concurrency, the part that must hold on both backends:

- Writes that read before they write lock first. On PostgreSQL, `create_job` locks the
  pipeline's row, so concurrent creates for one pipeline queue and each sees the run_id the
  previous one committed. On SQLite, write transactions start with BEGIN IMMEDIATE (the sqlite3
  driver's own implicit BEGINs are turned off), so writers queue on the busy timeout instead of
  failing when a read snapshot turns stale.
- State changes are compare-and-set in the UPDATE's WHERE clause, so of two writers moving a
  job out of the same state exactly one wins, and the loser changes nothing.
- Reads run in one snapshot (REPEATABLE READ on PostgreSQL, one deferred transaction on SQLite),
  so a job and its history always agree.
"""

from __future__ import annotations

import dataclasses
import sqlite3
import time
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from alembic import command
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, delete, event, func, insert, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.store.errors import AlreadyExists, NotFound, ReadOnlyStore
from services.store.migrations import alembic_config
from services.store.models import (
    CheckpointRow,
    CheckpointSubtaskStateRow,
    JobRow,
    JobStateTransitionRow,
    PipelineRow,
)
from services.store.records import (
    FINAL_JOB_STATES,
    CheckpointRecord,
    JobQuery,
    JobRecord,
    JobSummary,
    PipelineRecord,
    SubtaskStateSize,
    check_job_state,
)

# How long a SQLite writer waits for another writer's lock before giving up ("database is locked").
SQLITE_BUSY_TIMEOUT_S = 30.0
# PostgreSQL advisory lock key held while migrating, so concurrent `migrate()` calls run in turn.
_MIGRATION_LOCK_KEY = 0x5745_4952  # "WEIR"
# Execution option read by the SQLite `begin` hook: which BEGIN to emit.
_SQLITE_BEGIN = "weir_sqlite_begin"
# The columns a `JobSummary` is built from, in its fields' order. Selected as plain columns:
# a page of ORM rows cost ~10 ms for 100 jobs, mostly in building and expiring instances and
# loading each job's history, which listing never shows.
_JOB_SUMMARY_COLUMNS = tuple(JobRow.__table__.c[f.name] for f in dataclasses.fields(JobSummary))


class Store:
    """Pipelines and jobs in SQLite (`sqlite:///path`, WAL) or PostgreSQL (`postgresql+psycopg://...`).

    `read_only=True` is for processes that only read (the metrics service): they never migrate
    and cannot write (refused here, and on SQLite by `PRAGMA query_only` too; on PostgreSQL every
    read runs in a READ ONLY transaction anyway).
    """

    def __init__(self, url: str, *, read_only: bool = False) -> None:
        self._read_only = read_only
        self._sqlite = make_url(url).get_backend_name() == "sqlite"
        if self._sqlite:
            self._engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})
            event.listen(self._engine, "connect", self._configure_sqlite_connection)
            event.listen(self._engine, "begin", _begin_sqlite_transaction)
            self._read_options: dict[str, Any] = {}
            self._write_options: dict[str, Any] = {_SQLITE_BEGIN: "BEGIN IMMEDIATE"}
        else:
            self._engine = create_engine(url, pool_pre_ping=True)
            self._read_options = {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
            self._write_options = {"isolation_level": "READ COMMITTED"}

    def _configure_sqlite_connection(self, dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to SQLAlchemy: the `begin` hook emits BEGIN itself, so a
        # transaction covers reads too (the driver would otherwise begin only before DML).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")  # per connection; needed for ON DELETE CASCADE
        if self._read_only:
            cursor.execute("PRAGMA query_only = ON")
        else:
            _enable_wal(cursor)
        cursor.close()

    def close(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self, *, write: bool = False) -> Iterator[Session]:
        """One transaction on one connection, committed on success, rolled back on error."""
        if write and self._read_only:
            raise ReadOnlyStore("this store was opened read-only")
        with self._engine.connect() as connection:
            connection.execution_options(**(self._write_options if write else self._read_options))
            with Session(bind=connection) as session, session.begin():
                yield session

    @contextmanager
    def _column_read(self) -> Iterator[Connection]:
        """A read transaction on a bare connection, for selects of plain columns: without a
        Session to set up and tear down, a one-row read costs about half as much."""
        with self._engine.connect() as connection:
            connection.execution_options(**self._read_options)
            with connection.begin():
                yield connection

    # Schema

    def migrate(self) -> None:
        """Upgrade the schema to the newest migration. Idempotent; concurrent callers take turns."""
        if self._read_only:
            raise ReadOnlyStore("a read-only store does not migrate; the controller does")
        config = alembic_config()
        with self._engine.connect() as connection:
            connection.execution_options(**self._write_options)
            with connection.begin():
                if not self._sqlite:  # SQLite's BEGIN IMMEDIATE already excludes other writers
                    connection.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
                    )
                config.attributes["connection"] = connection
                command.upgrade(config, "head")

    def is_current(self) -> bool:
        """Whether the schema is at the newest migration (a read-only process checks this)."""
        heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
        with self._engine.connect() as connection:
            return set(MigrationContext.configure(connection).get_current_heads()) == heads

    # Pipelines

    def create_pipeline(self, p: PipelineRecord) -> None:
        """Insert a pipeline; AlreadyExists if its id is taken."""
        try:
            with self._transaction(write=True) as session:
                session.add(
                    PipelineRow(
                        id=p.id,
                        name=p.name,
                        query=p.query,
                        parallelism=p.parallelism,
                        checkpoint_interval_ms=p.checkpoint_interval_ms,
                        created_at=p.created_at,
                        dataflow=p.dataflow,
                        checkpoints_retained=p.checkpoints_retained,
                    )
                )
        except IntegrityError as e:
            raise AlreadyExists(f"pipeline {p.id} already exists") from e

    def get_pipeline(self, pipeline_id: str) -> PipelineRecord | None:
        with self._transaction() as session:
            row = session.get(PipelineRow, pipeline_id)
            return row.to_record() if row else None

    def list_pipelines(self, limit: int, offset: int) -> tuple[list[PipelineRecord], bool]:
        """A page of pipelines, newest first, and whether more follow."""
        if limit < 0 or offset < 0:
            raise ValueError("limit and offset must not be negative")
        stmt = (
            select(PipelineRow)
            .order_by(PipelineRow.created_at.desc(), PipelineRow.id.desc())
            .limit(limit + 1)
            .offset(offset)
        )
        with self._transaction() as session:
            rows = session.scalars(stmt).all()
            return [r.to_record() for r in rows[:limit]], len(rows) > limit

    def delete_pipeline(self, pipeline_id: str) -> bool:
        """Delete a pipeline and (by ON DELETE CASCADE) its jobs and their history; False if absent."""
        stmt = delete(PipelineRow).where(PipelineRow.id == pipeline_id).returning(PipelineRow.id)
        with self._transaction(write=True) as session:
            return session.execute(stmt).first() is not None

    # Jobs

    def create_job(
        self,
        pipeline_id: str,
        job_id: str,
        parallelism: int,
        created_at: float,
        *,
        dataflow: bytes,
        restore_checkpoint_id: str | None = None,
    ) -> JobRecord:
        """Create the next run of a pipeline: run_id = the pipeline's highest run_id + 1, state
        Created, running_desired True, no tasks yet, restoring `restore_checkpoint_id` if given.
        NotFound if the pipeline does not exist, AlreadyExists if the job id is taken."""
        lock_pipeline = select(PipelineRow.id).where(PipelineRow.id == pipeline_id)
        # FOR NO KEY UPDATE: queues concurrent creates for this pipeline without blocking
        # unrelated writers (SQLite renders no lock clause; BEGIN IMMEDIATE serialises instead).
        lock_pipeline = lock_pipeline.with_for_update(key_share=True)
        last_run_id = select(func.coalesce(func.max(JobRow.run_id), 0)).where(
            JobRow.pipeline_id == pipeline_id
        )
        try:
            with self._transaction(write=True) as session:
                if session.scalar(lock_pipeline) is None:
                    raise NotFound(f"pipeline {pipeline_id} not found")
                job = JobRow(
                    id=job_id,
                    pipeline_id=pipeline_id,
                    run_id=session.scalar(last_run_id) + 1,
                    state="Created",
                    running_desired=True,
                    parallelism=parallelism,
                    tasks=0,
                    created_at=created_at,
                    dataflow=dataflow,
                    restore_checkpoint_id=restore_checkpoint_id,
                    history=[JobStateTransitionRow(seq=1, state="Created", at_ms=created_at)],
                )
                session.add(job)
                session.flush()
                return job.to_record()
        except IntegrityError as e:
            raise AlreadyExists(f"job {job_id} already exists") from e

    def get_job(self, job_id: str) -> JobRecord | None:
        with self._transaction() as session:
            row = session.get(JobRow, job_id)
            return row.to_record() if row else None

    def get_job_summary(self, job_id: str) -> JobSummary | None:
        """The job as the API shows it, without loading its plan or its history."""
        stmt = select(*_JOB_SUMMARY_COLUMNS).where(JobRow.id == job_id)
        with self._column_read() as connection:
            row = connection.execute(stmt).first()
            return JobSummary(*row) if row else None

    def list_jobs(self, q: JobQuery) -> tuple[list[JobSummary], bool]:
        """A page of jobs matching every filter in `q`, sorted by `q.sort_field` then id (same
        direction), rows lacking the sort value last; and whether more follow."""
        stmt = select(*_JOB_SUMMARY_COLUMNS)
        if q.pipeline_id is not None:
            stmt = stmt.where(JobRow.pipeline_id == q.pipeline_id)
        if q.state is not None:
            stmt = stmt.where(JobRow.state == check_job_state(q.state))
        if q.running is not None:
            stmt = stmt.where(JobRow.running_desired == q.running)
        # JobQuery has already checked sort_field against JOB_SORT_FIELDS.
        column = getattr(JobRow, q.sort_field)
        order = column.desc() if q.descending else column.asc()
        tiebreak = JobRow.id.desc() if q.descending else JobRow.id.asc()
        stmt = stmt.order_by(order.nulls_last(), tiebreak).limit(q.limit + 1).offset(q.offset)
        with self._column_read() as connection:
            rows = connection.execute(stmt).all()
            return [JobSummary(*row) for row in rows[: q.limit]], len(rows) > q.limit

    def list_unfinished_jobs(self) -> list[JobRecord]:
        """Jobs not in a final state, oldest first: what a restarted controller must reconcile."""
        stmt = (
            select(JobRow).where(JobRow.state.not_in(FINAL_JOB_STATES)).order_by(JobRow.created_at, JobRow.id)
        )
        with self._transaction() as session:
            return [r.to_record() for r in session.scalars(stmt)]

    def transition_job(
        self,
        job_id: str,
        to_state: str,
        at_ms: float,
        *,
        from_states: Collection[str] | None = None,
        failure_message: str | None = None,
        tasks: int | None = None,
    ) -> JobRecord | None:
        """Move a job to `to_state` at `at_ms` and append that to its history, in one transaction.

        With `from_states`, this is compare-and-set: if the job's current state is not one of
        them, nothing changes and None is returned, so of two writers racing from the same state
        only one acts. None also means the job does not exist. Entering Running the first time
        sets start_time; entering Stopped/Failed/Finished sets finish_time. `failure_message`
        and `tasks` are stored when given, left as they are otherwise.
        """
        check_job_state(to_state)
        values: dict[str, Any] = {"state": to_state}
        if to_state == "Running":
            values["start_time"] = func.coalesce(JobRow.start_time, at_ms)
        if to_state in FINAL_JOB_STATES:
            values["finish_time"] = at_ms
        if failure_message is not None:
            values["failure_message"] = failure_message
        if tasks is not None:
            values["tasks"] = tasks
        stmt = update(JobRow).where(JobRow.id == job_id).values(values).returning(JobRow.id)
        if from_states is not None:
            stmt = stmt.where(JobRow.state.in_([check_job_state(s) for s in from_states]))
        next_seq = (
            select(func.coalesce(func.max(JobStateTransitionRow.seq), 0) + 1)
            .where(JobStateTransitionRow.job_id == job_id)
            .scalar_subquery()
        )
        with self._transaction(write=True) as session:
            # The UPDATE row-locks the job (PostgreSQL), so the history's next seq is stable.
            if session.execute(stmt, execution_options={"synchronize_session": False}).first() is None:
                return None
            session.execute(
                insert(JobStateTransitionRow).values(job_id=job_id, seq=next_seq, state=to_state, at_ms=at_ms)
            )
            return session.get_one(JobRow, job_id).to_record()

    def set_running_desired(self, job_id: str, desired: bool) -> JobRecord | None:
        """Record the user's intent (run or stop); None if the job does not exist."""
        stmt = update(JobRow).where(JobRow.id == job_id).values(running_desired=desired).returning(JobRow.id)
        with self._transaction(write=True) as session:
            if session.execute(stmt, execution_options={"synchronize_session": False}).first() is None:
                return None
            return session.get_one(JobRow, job_id).to_record()

    # Checkpoints

    def create_checkpoint(
        self, checkpoint_id: str, job_id: str, epoch: int, start_time: float, *, backend: str, location: str
    ) -> CheckpointRecord:
        """Record a triggered checkpoint as in_progress. NotFound if the job does not exist,
        AlreadyExists if the id or the job's epoch is taken."""
        try:
            with self._transaction(write=True) as session:
                if session.get(JobRow, job_id) is None:
                    raise NotFound(f"job {job_id} not found")
                row = CheckpointRow(
                    id=checkpoint_id,
                    job_id=job_id,
                    epoch=epoch,
                    state="in_progress",
                    start_time=start_time,
                    size_bytes=0,
                    backend=backend,
                    location=location,
                    subtask_states=[],
                )
                session.add(row)
                session.flush()
                return row.to_record()
        except IntegrityError as e:
            raise AlreadyExists(f"checkpoint {checkpoint_id} (epoch {epoch} of job {job_id}) exists") from e

    def complete_checkpoint(
        self, checkpoint_id: str, finish_time: float, subtask_states: Sequence[SubtaskStateSize]
    ) -> CheckpointRecord | None:
        """in_progress -> completed with every subtask's state size (and their sum), in one
        transaction; None (nothing changed) if the checkpoint is not in progress."""
        stmt = (
            update(CheckpointRow)
            .where(CheckpointRow.id == checkpoint_id, CheckpointRow.state == "in_progress")
            .values(
                state="completed",
                finish_time=finish_time,
                size_bytes=sum(s.size_bytes for s in subtask_states),
            )
            .returning(CheckpointRow.id)
        )
        with self._transaction(write=True) as session:
            if session.execute(stmt, execution_options={"synchronize_session": False}).first() is None:
                return None
            if subtask_states:
                session.execute(
                    insert(CheckpointSubtaskStateRow),
                    [{"checkpoint_id": checkpoint_id, **s._asdict()} for s in subtask_states],
                )
            return session.get_one(CheckpointRow, checkpoint_id).to_record()

    def fail_checkpoints(
        self, job_id: str, finish_time: float, message: str, *, checkpoint_id: str | None = None
    ) -> list[CheckpointRecord]:
        """in_progress -> failed with `message`: the one checkpoint `checkpoint_id`, or every
        in-progress checkpoint of the job (a restarted controller abandons them). Returns those
        that changed."""
        stmt = (
            update(CheckpointRow)
            .where(CheckpointRow.job_id == job_id, CheckpointRow.state == "in_progress")
            .values(state="failed", finish_time=finish_time, failure_message=message)
            .returning(CheckpointRow.id)
        )
        if checkpoint_id is not None:
            stmt = stmt.where(CheckpointRow.id == checkpoint_id)
        with self._transaction(write=True) as session:
            ids = list(session.scalars(stmt, execution_options={"synchronize_session": False}))
            rows = session.scalars(select(CheckpointRow).where(CheckpointRow.id.in_(ids)))
            return sorted((r.to_record() for r in rows), key=lambda c: c.epoch)

    def get_checkpoint(self, checkpoint_id: str) -> CheckpointRecord | None:
        with self._transaction() as session:
            row = session.get(CheckpointRow, checkpoint_id)
            return row.to_record() if row else None

    def list_checkpoints(
        self, job_id: str, *, completed: bool | None = None, limit: int = 20, offset: int = 0
    ) -> tuple[list[CheckpointRecord], bool]:
        """A page of a job's checkpoints, newest epoch first, and whether more follow.
        `completed`: only completed (True) or only not completed (False) ones."""
        if limit < 0 or offset < 0:
            raise ValueError("limit and offset must not be negative")
        stmt = select(CheckpointRow).where(CheckpointRow.job_id == job_id)
        if completed is not None:
            is_completed = CheckpointRow.state == "completed"
            stmt = stmt.where(is_completed if completed else ~is_completed)
        stmt = stmt.order_by(CheckpointRow.epoch.desc()).limit(limit + 1).offset(offset)
        with self._transaction() as session:
            rows = session.scalars(stmt).all()
            return [r.to_record() for r in rows[:limit]], len(rows) > limit

    def latest_completed_checkpoint(self, job_id: str) -> CheckpointRecord | None:
        checkpoints, _ = self.list_checkpoints(job_id, completed=True, limit=1)
        return checkpoints[0] if checkpoints else None

    def last_checkpoint_epoch(self, job_id: str) -> int:
        """The highest epoch the job has used (in any state), 0 if none: the next one is above it."""
        stmt = select(func.coalesce(func.max(CheckpointRow.epoch), 0)).where(CheckpointRow.job_id == job_id)
        with self._transaction() as session:
            return session.scalar(stmt)

    def expired_checkpoints(self, job_id: str, keep_completed: int) -> list[CheckpointRecord]:
        """The job's checkpoints that retention may delete: every checkpoint older than its
        `keep_completed` newest completed ones (in_progress ones never), except a checkpoint an
        unfinished job is restoring from. Oldest first."""
        if keep_completed < 1:
            raise ValueError("retention keeps at least the newest completed checkpoint")
        kept_epochs = (
            select(CheckpointRow.epoch)
            .where(CheckpointRow.job_id == job_id, CheckpointRow.state == "completed")
            .order_by(CheckpointRow.epoch.desc())
            .limit(keep_completed)
            .subquery()
        )
        oldest_kept = select(func.min(kept_epochs.c.epoch)).scalar_subquery()
        needed_by_restore = (
            select(JobRow.restore_checkpoint_id)
            .where(JobRow.restore_checkpoint_id.is_not(None), JobRow.state.not_in(FINAL_JOB_STATES))
            .scalar_subquery()
        )
        stmt = (
            select(CheckpointRow)
            .where(
                CheckpointRow.job_id == job_id,
                CheckpointRow.state != "in_progress",
                CheckpointRow.epoch < oldest_kept,
                CheckpointRow.id.not_in(needed_by_restore),
            )
            .order_by(CheckpointRow.epoch)
        )
        with self._transaction() as session:
            return [r.to_record() for r in session.scalars(stmt)]

    def delete_checkpoints(self, checkpoint_ids: Collection[str]) -> int:
        """Delete checkpoints' metadata (and, by ON DELETE CASCADE, their sizes); how many went."""
        if not checkpoint_ids:
            return 0
        stmt = (
            delete(CheckpointRow)
            .where(CheckpointRow.id.in_(list(checkpoint_ids)))
            .returning(CheckpointRow.id)
        )
        with self._transaction(write=True) as session:
            return len(session.execute(stmt).all())


def _enable_wal(cursor: sqlite3.Cursor) -> None:
    """Put the SQLite file in WAL mode, so readers never block the writer nor it them.

    The mode is stored in the file, so only the first opener changes it; but that change needs
    an exclusive lock and SQLite answers "database is locked" at once, without its busy
    handler, when other connections are opening the new file at the same moment. So retry,
    as the busy handler would, until the busy timeout.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
        time.sleep(0.005)


def _begin_sqlite_transaction(connection: Connection) -> None:
    """Emit SQLite's BEGIN: IMMEDIATE (take the write lock now) for write transactions."""
    connection.exec_driver_sql(connection.get_execution_options().get(_SQLITE_BEGIN, "BEGIN"))
