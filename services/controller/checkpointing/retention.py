"""Checkpoint retention: a job keeps its newest K completed checkpoints (the pipeline's
`checkpoints_retained`, default 5) and everything newer; older ones are deleted, metadata
first and files after, so a crash in between leaves unreferenced files, never a listed
checkpoint without its files.

Never deleted: a checkpoint in progress, the newest completed one (K >= 1; a sink commit
or a recovery may still need it) and one an unfinished job is restoring from (a restart
asked for it) — `Store.expired_checkpoints` excludes them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import fsspec

from services.store import CheckpointRecord, Store

log = logging.getLogger(__name__)


async def expire_checkpoints(store: Store, job_id: str, keep_completed: int) -> list[CheckpointRecord]:
    """Delete the job's checkpoints past retention; returns those deleted."""
    expired = await asyncio.to_thread(store.expired_checkpoints, job_id, max(1, keep_completed))
    if not expired:
        return []
    await asyncio.to_thread(store.delete_checkpoints, [c.id for c in expired])
    await delete_checkpoint_files(expired)
    log.info("job %s: retention deleted checkpoints of epochs %s", job_id, [c.epoch for c in expired])
    return expired


async def delete_checkpoint_files(checkpoints: Sequence[CheckpointRecord]) -> None:
    """Remove the checkpoints' epoch directories; best effort (a leak is logged, not fatal)."""
    await asyncio.to_thread(_delete_locations, [c.location for c in checkpoints])


def _delete_locations(locations: Sequence[str]) -> None:
    for location in locations:
        try:
            fs, path = fsspec.core.url_to_fs(location)
            if fs.exists(path):
                fs.rm(path, recursive=True)
        except (OSError, ValueError, ImportError) as error:
            log.warning("cannot delete checkpoint files at %s: %s", location, error)
