"""`JobLogStore`: a job's log entries and errors, kept in the store's database with a bound.

Two processes write here: the controller (lifecycle entries) and the metrics service (what
workers report). Both go through `append`, which enforces retention on the jobs it touches in
the same transaction, so storage per job stays bounded by `LogRetention` (count AND age, for
logs and errors separately) however long a job runs. A job that stops receiving entries keeps
at most its count bound; `expire` sweeps entries past the age bound from such jobs too.

Writes are idempotent by id: a worker resends a report it saw no acknowledgement for, and its
entries carry the ids the worker gave them, so a resent entry is skipped, not duplicated.
Entries of a job the store does not know (never created, or deleted meanwhile) are dropped:
the foreign key to `jobs` would refuse them, and one of them must not cost the rest of a batch.

Concurrency: `append` first locks the touched jobs' rows (FOR NO KEY UPDATE, in id order; on
SQLite BEGIN IMMEDIATE serialises writers anyway), so two writers trimming the same job take
turns instead of deadlocking, and the job cannot be deleted between the check and the insert.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from services.store.models import JobErrorRow, JobLogRow, JobRow
from services.store.store import Store

# The API's level words (logs.proto): LogEntry.Level and JobError.Level.
LOG_LEVELS: tuple[str, ...] = ("info", "warn", "error")
ERROR_LEVELS: tuple[str, ...] = ("error", "warning")

DEFAULT_MAX_ENTRIES_PER_JOB = 10_000
DEFAULT_MAX_AGE_MS = 7 * 24 * 3600 * 1000.0


@dataclass(frozen=True)
class LogRetention:
    """How much of each job's logs (and, separately, errors) is kept: the newest
    `max_entries`, none older than `max_age_ms` (None: no age bound)."""

    max_entries: int = DEFAULT_MAX_ENTRIES_PER_JOB
    max_age_ms: float | None = DEFAULT_MAX_AGE_MS

    def __post_init__(self) -> None:
        if self.max_entries < 1:
            raise ValueError("retention keeps at least one entry per job")
        if self.max_age_ms is not None and self.max_age_ms <= 0:
            raise ValueError("the age bound must be positive")

    def cutoff(self, now_ms: float) -> float | None:
        """Entries before this timestamp are expired."""
        return None if self.max_age_ms is None else now_ms - self.max_age_ms


@dataclass(frozen=True)
class JobLogRecord:
    """One log entry. The controller's entries have no operator ("") and no task (None)."""

    id: str
    job_id: str
    timestamp: float
    level: str
    message: str
    operator_id: str = ""
    task_index: int | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.level not in LOG_LEVELS:
            raise ValueError(f"log level must be one of {', '.join(LOG_LEVELS)}, got {self.level!r}")


@dataclass(frozen=True)
class JobErrorRecord:
    """One error or warning, with the offending record's text (may be empty)."""

    id: str
    job_id: str
    timestamp: float
    level: str
    message: str
    operator_id: str = ""
    task_index: int | None = None
    details: str = ""
    record: str = ""

    def __post_init__(self) -> None:
        if self.level not in ERROR_LEVELS:
            raise ValueError(f"error level must be one of {', '.join(ERROR_LEVELS)}, got {self.level!r}")


_Table = type[JobLogRow] | type[JobErrorRow]
_R = TypeVar("_R", "JobLogRecord", "JobErrorRecord")


class JobLogStore:
    """Job logs and errors in the database of `store` (which must be writable to `append`)."""

    def __init__(self, store: Store, retention: LogRetention | None = None) -> None:
        self._store = store
        self.retention = retention or LogRetention()

    def append(self, logs: Sequence[JobLogRecord], errors: Sequence[JobErrorRecord], now_ms: float) -> int:
        """Insert entries in one transaction and trim the touched jobs to the retention bound.
        Returns how many were new (resent ids, unknown jobs and expired entries do not count)."""
        job_ids = sorted({r.job_id for r in logs} | {r.job_id for r in errors})
        if not job_ids:
            return 0
        cutoff = self.retention.cutoff(now_ms)
        # One session method shared with the rest of the store package: same engine, same
        # backend-specific transaction setup.
        with self._store._transaction(write=True) as session:
            known = self._lock_jobs(session, job_ids)
            inserted = 0
            for table, records in ((JobLogRow, logs), (JobErrorRow, errors)):
                rows = [
                    _row_values(r)
                    for r in records
                    if r.job_id in known and (cutoff is None or r.timestamp >= cutoff)
                ]
                inserted += self._insert_new(session, table, rows)
                for job_id in sorted({r.job_id for r in records} & known):
                    self._trim(session, table, job_id, cutoff)
            return inserted

    def expire(self, now_ms: float) -> int:
        """Delete entries past the age bound from every job; how many went. For jobs that no
        longer receive entries (those that do are trimmed by `append`)."""
        cutoff = self.retention.cutoff(now_ms)
        if cutoff is None:
            return 0
        deleted = 0
        for table in (JobLogRow, JobErrorRow):
            expired_jobs = select(table.job_id).where(table.timestamp < cutoff).distinct()
            with self._store._transaction() as session:
                job_ids = list(session.scalars(expired_jobs))
            for job_id in sorted(job_ids):
                with self._store._transaction(write=True) as session:
                    if self._lock_jobs(session, [job_id]):
                        deleted += self._trim(session, table, job_id, cutoff)
        return deleted

    def list_logs(
        self,
        job_id: str,
        *,
        level: str | None = None,
        operator_id: str | None = None,
        task_index: int | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 20,
    ) -> tuple[list[JobLogRecord], bool]:
        """A page of the job's entries, newest first (timestamp, then id), matching every given
        filter (`since` inclusive, `until` exclusive); and whether more match."""
        stmt = select(JobLogRow).where(JobLogRow.job_id == job_id)
        if level:
            stmt = stmt.where(JobLogRow.level == level)
        if operator_id:
            stmt = stmt.where(JobLogRow.operator_id == operator_id)
        if task_index is not None:
            stmt = stmt.where(JobLogRow.task_index == task_index)
        if since is not None:
            stmt = stmt.where(JobLogRow.timestamp >= since)
        if until is not None:
            stmt = stmt.where(JobLogRow.timestamp < until)
        return self._page(stmt, JobLogRow, limit, JobLogRecord)

    def list_errors(
        self, job_id: str, *, level: str | None = None, operator_id: str | None = None, limit: int = 20
    ) -> tuple[list[JobErrorRecord], bool]:
        """A page of the job's errors, newest first, matching every given filter."""
        stmt = select(JobErrorRow).where(JobErrorRow.job_id == job_id)
        if level:
            stmt = stmt.where(JobErrorRow.level == level)
        if operator_id:
            stmt = stmt.where(JobErrorRow.operator_id == operator_id)
        return self._page(stmt, JobErrorRow, limit, JobErrorRecord)

    def count(self, job_id: str) -> tuple[int, int]:
        """How many log entries and errors the job has stored."""
        with self._store._transaction() as session:
            logs, errors = (
                session.scalar(select(func.count()).select_from(table).where(table.job_id == job_id)) or 0
                for table in (JobLogRow, JobErrorRow)
            )
            return logs, errors

    def _page(self, stmt: Any, table: _Table, limit: int, record_type: type[_R]) -> tuple[list[_R], bool]:
        if limit < 0:
            raise ValueError("limit must not be negative")
        stmt = stmt.order_by(table.timestamp.desc(), table.id.desc()).limit(limit + 1)
        with self._store._transaction() as session:
            rows = list(session.scalars(stmt))
            # A record's fields are its row's columns, by name (as `_row_values` writes them).
            fields = record_type.__dataclass_fields__
            records = [record_type(**{name: getattr(row, name) for name in fields}) for row in rows[:limit]]
            return records, len(rows) > limit

    @staticmethod
    def _lock_jobs(session: Session, job_ids: Iterable[str]) -> set[str]:
        """The given jobs that exist, locked against other log writers and deletion."""
        stmt = (
            select(JobRow.id)
            .where(JobRow.id.in_(list(job_ids)))
            .order_by(JobRow.id)
            .with_for_update(key_share=True)
        )
        return set(session.scalars(stmt))

    @staticmethod
    def _insert_new(session: Session, table: _Table, rows: list[dict[str, Any]]) -> int:
        if not rows:
            return 0
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(table).on_conflict_do_nothing(index_elements=["id"]).returning(table.id)
        return len(session.execute(stmt, rows).all())

    def _trim(self, session: Session, table: _Table, job_id: str, cutoff: float | None) -> int:
        """Delete the job's entries older than `cutoff` and beyond the newest `max_entries`."""
        deleted = 0
        if cutoff is not None:
            expired = delete(table).where(table.job_id == job_id, table.timestamp < cutoff)
            deleted += session.execute(expired, execution_options={"synchronize_session": False}).rowcount
        oldest_kept = session.execute(
            select(table.timestamp, table.id)
            .where(table.job_id == job_id)
            .order_by(table.timestamp.desc(), table.id.desc())
            .offset(self.retention.max_entries - 1)
            .limit(1)
        ).first()
        if oldest_kept is not None:
            timestamp, entry_id = oldest_kept
            older = delete(table).where(
                table.job_id == job_id,
                or_(table.timestamp < timestamp, and_(table.timestamp == timestamp, table.id < entry_id)),
            )
            deleted += session.execute(older, execution_options={"synchronize_session": False}).rowcount
        return deleted


def _row_values(record: JobLogRecord | JobErrorRecord) -> dict[str, Any]:
    values = {name: getattr(record, name) for name in record.__dataclass_fields__}
    if isinstance(record, JobLogRecord):
        values["details"] = dict(record.details)
    return values
