"""`weir up` as a process tree: it keeps its workers alive and leaves no orphans on SIGTERM."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from tests.conftest import start_platform, stop_platform, wait_for


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purposes.
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "zombie" not in status.read_text()


def test_dead_worker_is_replaced_and_sigterm_leaves_no_orphans(tmp_path: Path) -> None:
    platform = start_platform(tmp_path / "data", workers=2)
    try:
        children = platform.child_pids()
        assert len(children) == 5  # metrics, controller, gateway, two workers
        workers = platform.rest.get("/api/v1/workers").json()["data"]
        victim = workers[0]["pid"]
        os.kill(victim, signal.SIGKILL)

        def replaced() -> bool:
            pids = platform.child_pids()
            return victim not in pids and len(pids) == 5

        wait_for(replaced, timeout_s=30, what="the killed worker to be replaced")
        wait_for(
            lambda: (
                len([w for w in platform.rest.get("/api/v1/workers").json()["data"] if w["state"] == "Ready"])
                >= 2
            ),
            timeout_s=30,
            what="a replacement worker to register",
        )
        children = platform.child_pids()
    finally:
        stop_platform(platform)
    assert platform.process.returncode == 0
    for pid in children:
        assert not _alive(pid), f"child {pid} outlived weir up"
