"""Which subtask owns a key: a contiguous split of the uint64 key-hash space.

Key-by shuffles route a row to the owner of its key hash, and a restored checkpoint gives
each subtask the keyed state rows whose `_key_hash` it owns; both use this one function,
so that after a restore at any parallelism a key's state and its rows meet on the same
subtask. Contiguous ranges (rather than `hash % parallelism`) mean that a subtask's state
at parallelism P is split, not scattered, when restored at another parallelism.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

HASH_SPACE = 2**64


@dataclass(frozen=True)
class KeyRange:
    """The key hashes `low <= h < high` (high is 2**64 for the last subtask)."""

    low: int
    high: int

    def contains(self, hashes: pl.Expr) -> pl.Expr:
        """A Polars predicate: the uint64 hashes in `hashes` that fall in this range."""
        inside = hashes >= pl.lit(self.low, pl.UInt64)
        if self.high < HASH_SPACE:
            inside = inside & (hashes < pl.lit(self.high, pl.UInt64))
        return inside


def key_range(subtask_index: int, parallelism: int) -> KeyRange:
    """The key hashes subtask `subtask_index` of `parallelism` owns."""
    if parallelism < 1 or not 0 <= subtask_index < parallelism:
        raise ValueError(f"subtask {subtask_index} is not within parallelism {parallelism}")
    return KeyRange(
        subtask_index * HASH_SPACE // parallelism, (subtask_index + 1) * HASH_SPACE // parallelism
    )


def owners(hashes: pl.Series, parallelism: int) -> pl.Series:
    """The owning subtask index (UInt32) of each uint64 key hash, vectorized: a binary search
    of each hash among the ranges' lower bounds (numpy's, 3x faster than Polars' here)."""
    lows = np.array([key_range(i, parallelism).low for i in range(parallelism)], dtype=np.uint64)
    found = np.searchsorted(lows, hashes.cast(pl.UInt64).to_numpy(), side="right") - 1
    return pl.Series(found.astype(np.uint32))
