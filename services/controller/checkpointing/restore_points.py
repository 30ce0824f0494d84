"""What a job restores from: its own newest completed checkpoint; before it has one, the
checkpoint it was started from (a restart); else nothing. Recovery and the default of a
restart both use this, so a job restarted before its first checkpoint still keeps the
state it was restored with."""

from __future__ import annotations

from services.store import CheckpointRecord, JobRecord, Store

# The `checkpoint_id` of a restart that starts without state.
NO_STATE = "none"


def latest_restore_point(store: Store, job: JobRecord) -> CheckpointRecord | None:
    """Blocking (store calls): async callers use asyncio.to_thread."""
    latest = store.latest_completed_checkpoint(job.id)
    if latest is not None:
        return latest
    if job.restore_checkpoint_id is not None:
        restored = store.get_checkpoint(job.restore_checkpoint_id)
        if restored is not None and restored.state == "completed":
            return restored
    return None
