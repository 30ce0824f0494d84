"""A job's latency distribution, merged from the histogram deltas every sink subtask reports.

Percentiles are read from the merged bucket counts, never averaged across subtasks: the p99 of
a job is the p99 of all its records, which an average of per-subtask p99s is not.

Workers share one set of bucket bounds, so merging is adding counts. Should bounds differ
(mixed worker versions), the histogram keeps its first bounds and re-bins foreign buckets by
their upper bound: percentiles stay conservative rather than the merge failing.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import math
from collections.abc import Sequence


class InvalidHistogram(ValueError):
    """A reported histogram that cannot be merged (bad bounds or count length)."""


def check_histogram(bounds: Sequence[float], counts: Sequence[int], max_buckets: int) -> None:
    """Raise `InvalidHistogram` unless `counts` has one more entry than strictly increasing,
    finite `bounds` (the last count is the overflow bucket above the last bound)."""
    if not bounds:
        raise InvalidHistogram("a latency histogram needs at least one bucket bound")
    if len(counts) != len(bounds) + 1:
        raise InvalidHistogram(f"{len(bounds)} bounds need {len(bounds) + 1} counts, got {len(counts)}")
    if len(counts) > max_buckets:
        raise InvalidHistogram(f"at most {max_buckets} buckets, got {len(counts)}")
    problem = _bounds_problem(tuple(bounds))
    if problem:
        raise InvalidHistogram(problem)


@functools.lru_cache(maxsize=64)
def _bounds_problem(bounds: tuple[float, ...]) -> str:
    """What is wrong with `bounds`, or "". Cached: every worker sends the same few bounds with
    every sink subtask's report."""
    if not all(math.isfinite(b) for b in bounds):
        return "bucket bounds must be finite"
    if any(lower >= upper for lower, upper in itertools.pairwise(bounds)):
        return "bucket bounds must increase strictly"
    return ""


class LatencyHistogram:
    """Bucket counts over explicit bounds: bucket i holds values in (bounds[i-1], bounds[i]],
    the last bucket values above the last bound."""

    def __init__(self) -> None:
        self._bounds: tuple[float, ...] = ()
        self._counts: list[int] = []

    @property
    def bounds(self) -> tuple[float, ...]:
        return self._bounds

    @property
    def counts(self) -> tuple[int, ...]:
        return tuple(self._counts)

    @property
    def total(self) -> int:
        return sum(self._counts)

    def add(self, bounds: Sequence[float], counts: Sequence[int]) -> None:
        """Merge one delta; call `check_histogram` first."""
        if not any(counts):
            return
        if not self._bounds:
            self._bounds = tuple(bounds)
            self._counts = [0] * (len(bounds) + 1)
        if tuple(bounds) == self._bounds:
            for i, count in enumerate(counts):
                self._counts[i] += count
            return
        overflow = len(self._bounds)
        for i, count in enumerate(counts):
            # A foreign bucket lands in our bucket holding its upper bound; its overflow in ours.
            target = overflow if i == len(bounds) else bisect.bisect_left(self._bounds, bounds[i])
            self._counts[target] += count

    def percentile(self, q: float) -> float:
        """The q-quantile (0 < q <= 1), interpolated linearly inside its bucket.

        Like Prometheus' histogram_quantile: the first bucket starts at 0 (latencies are not
        negative), and a quantile in the overflow bucket is reported as the last bound, the
        largest value the histogram can vouch for. An empty histogram yields 0.
        """
        total = self.total
        if total == 0:
            return 0.0
        rank = q * total
        cumulative = 0
        for i, count in enumerate(self._counts):
            if count == 0 or cumulative + count < rank:
                cumulative += count
                continue
            if i == len(self._bounds):
                return self._bounds[-1]
            upper = self._bounds[i]
            lower = self._bounds[i - 1] if i > 0 else min(0.0, upper)
            return lower + (upper - lower) * (rank - cumulative) / count
        return self._bounds[-1]
