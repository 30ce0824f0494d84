"""Records per second over a sliding window, from the counter deltas as they arrive.

Throughput is measured on the metrics service's own monotonic clock at arrival, not on the
workers' timestamps: worker clocks may disagree with each other and with the querying clock,
and a report arrives within a second of the interval it describes anyway.

Deltas are summed into buckets of `resolution_ms`, so memory is `window / resolution + 1`
buckets however fast reports come. The bucket straddling the window's start counts in
proportion to its overlap with the window (the usual sliding-window-counter estimate: exact
when records arrive evenly within a bucket, and never jumping by a whole bucket at an edge).
"""

from __future__ import annotations

import time
from collections import deque


def monotonic_ms() -> float:
    """Milliseconds on a clock that never jumps (the default clock of windows)."""
    return time.monotonic_ns() / 1_000_000


class WindowedRate:
    """Sum of amounts added within the last `window_ms`, as a rate per second.

    The rate divides by the whole window even while a job is younger than it, so a starting
    job ramps up over the first window instead of showing a noisy first-second spike.
    """

    def __init__(self, window_ms: float, resolution_ms: float) -> None:
        if window_ms <= 0 or resolution_ms <= 0 or resolution_ms > window_ms:
            raise ValueError("need 0 < resolution_ms <= window_ms")
        self._window_ms = window_ms
        self._resolution_ms = resolution_ms
        self._slots = max(1, round(window_ms / resolution_ms))
        # (bucket index, amount), oldest first.
        self._buckets: deque[list[int]] = deque()

    def _index(self, now_ms: float) -> int:
        return int(now_ms // self._resolution_ms)

    def add(self, now_ms: float, amount: int) -> None:
        index = self._index(now_ms)
        if self._buckets and self._buckets[-1][0] >= index:
            self._buckets[-1][1] += amount
        else:
            self._buckets.append([index, amount])
        self._expire(index)

    def _expire(self, index: int) -> None:
        while self._buckets and self._buckets[0][0] < index - self._slots:
            self._buckets.popleft()

    def total(self, now_ms: float) -> float:
        """Amount added in the window (now_ms - window_ms, now_ms]: whole buckets after the one
        holding the window's start, plus that one's share by overlap."""
        start = now_ms - self._window_ms
        straddling = self._index(start)
        overlap = 1.0 - (start - straddling * self._resolution_ms) / self._resolution_ms
        total = 0.0
        for index, amount in self._buckets:
            if index > straddling:
                total += amount
            elif index == straddling:
                total += amount * overlap
        return total

    def per_second(self, now_ms: float) -> float:
        return self.total(now_ms) * 1000.0 / self._window_ms
