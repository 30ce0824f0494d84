"""Latency (ms from source read to sink write) counted into fixed buckets.

The bounds are fixed, not adaptive, so that histograms from every subtask and every report
can be added bucket by bucket by the metrics service, which derives p50/p95/p99 from them.
"""

from __future__ import annotations

import bisect

# Upper bounds (inclusive) of the buckets in ms; one more bucket counts everything above.
LATENCY_BOUNDS_MS: tuple[float, ...] = (
    1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0,
    1_000.0, 2_000.0, 5_000.0, 10_000.0, 30_000.0, 60_000.0,
)  # fmt: skip


class LatencyHistogram:
    """Cumulative bucket counts, written by one task thread and read by the drain.

    Counts only grow; the reader computes deltas against what it last reported, so the
    writer never takes a lock on the hot path.
    """

    __slots__ = ("bounds", "counts")

    def __init__(self, bounds: tuple[float, ...] = LATENCY_BOUNDS_MS) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)

    def observe(self, latency_ms: float, count: int = 1) -> None:
        """Count `count` records that took `latency_ms`."""
        self.counts[bisect.bisect_left(self.bounds, latency_ms)] += count
