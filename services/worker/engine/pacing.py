"""When a rate-limited source may emit its next row.

The schedule is absolute (row k is due at start + k / rate) rather than a sleep after each
batch, so time spent processing a batch does not slow the rate down, and the long-run rate
is exact.
"""

from __future__ import annotations

import time


class Pacer:
    """Due times of rows for a source producing `rows_per_second` (> 0)."""

    def __init__(self, rows_per_second: float, start: float | None = None) -> None:
        if rows_per_second <= 0:
            raise ValueError("rows_per_second must be positive")
        self._interval = 1.0 / rows_per_second
        self._start = time.monotonic() if start is None else start

    def due(self, row_index: int) -> float:
        """The `time.monotonic()` instant at which row `row_index` (from 0) is due."""
        return self._start + row_index * self._interval
