"""A request to stop a task, from any thread, that the task's thread can wait on.

Graceful (sources stop, in-flight data drains, sinks flush) can be escalated to immediate
(cancel now), never the other way round. Waiting on the signal is how a rate-limited
source sleeps, so that a stop wakes it at once instead of after its sleep.
"""

from __future__ import annotations

import threading


class StopSignal:
    def __init__(self) -> None:
        self._event = threading.Event()
        self._immediate = False

    def request(self, graceful: bool) -> None:
        """Ask to stop; an immediate request overrides a graceful one."""
        if not graceful:
            self._immediate = True
        self._event.set()

    @property
    def requested(self) -> bool:
        return self._event.is_set()

    @property
    def immediate(self) -> bool:
        return self._immediate

    def wait(self, timeout_s: float) -> bool:
        """Sleep up to `timeout_s`; True as soon as a stop is requested."""
        return self._event.wait(timeout_s)
