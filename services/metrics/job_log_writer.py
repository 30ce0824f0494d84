"""Writing reported logs and errors to the store, with group commit.

A report is acknowledged only once its logs and errors are in the store, so a metrics service
killed after acknowledging a report has lost none of them; a report it never acknowledged is
resent by its worker, and the entries' ids make that resend harmless (`JobLogStore.append`).
Reports arrive on many streams at once: each waits for its own entries, and whatever queued
while one transaction ran goes into the next one, off the event loop. Memory stays bounded by
the reports in flight, since a stream sends its next report only after the acknowledgement.

Retention is enforced by `JobLogStore.append` on every job written to; jobs that no longer
receive entries are swept by age once per `expire_interval_ms`, in the same background thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from services.clock import now_ms
from services.store import JobErrorRecord, JobLogRecord, JobLogStore

log = logging.getLogger(__name__)

EXPIRE_INTERVAL_MS = 60_000.0


class JobLogWriteFailed(Exception):
    """The store did not take a batch; its reports must not be acknowledged (they are resent)."""


@dataclass
class _Pending:
    logs: Sequence[JobLogRecord]
    errors: Sequence[JobErrorRecord]
    written: asyncio.Future[None]


class JobLogWriter:
    def __init__(
        self,
        logs: JobLogStore,
        wall_clock: Callable[[], float] = now_ms,
        expire_interval_ms: float = EXPIRE_INTERVAL_MS,
    ) -> None:
        self._logs = logs
        self._wall_clock = wall_clock
        self._expire_interval_ms = expire_interval_ms
        self._next_expiry = 0.0
        self._pending: list[_Pending] = []
        self._flusher: asyncio.Task[None] | None = None

    async def write(self, logs: Sequence[JobLogRecord], errors: Sequence[JobErrorRecord]) -> None:
        """Return once the entries are stored; JobLogWriteFailed if the store refused them."""
        if not logs and not errors:
            return
        pending = _Pending(logs, errors, asyncio.get_running_loop().create_future())
        self._pending.append(pending)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="job log writer")
        await pending.written

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            logs = [entry for p in batch for entry in p.logs]
            errors = [error for p in batch for error in p.errors]
            try:
                await asyncio.to_thread(self._append, logs, errors)
            except Exception as error:
                log.warning("could not store %d log entries and %d errors: %s", len(logs), len(errors), error)
                reason = f"could not store logs and errors: {error}"
                for p in batch:
                    if not p.written.done():
                        p.written.set_exception(JobLogWriteFailed(reason))
            else:
                for p in batch:
                    if not p.written.done():
                        p.written.set_result(None)

    def _append(self, logs: list[JobLogRecord], errors: list[JobErrorRecord]) -> None:
        now = self._wall_clock()
        self._logs.append(logs, errors, now)
        if now >= self._next_expiry:
            self._next_expiry = now + self._expire_interval_ms
            self._logs.expire(now)
