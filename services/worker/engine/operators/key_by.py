"""The key hash of a row: what a key-by shuffle routes on and what keyed state is split by.

The contract between shuffles and checkpoints (see services/worker/engine/key_ranges.py
for the ranges) is that a row and the state of its key land on the same subtask at any
parallelism; both sides must therefore hash keys with this one function. Polars'
`hash_rows` with a fixed seed is vectorized and deterministic across processes (it is not
promised stable across Polars versions, which only matters for a checkpoint restored by
a different Polars version).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

KEY_HASH_COLUMN = "_key_hash"
_SEED = 0


def key_hashes(frame: pl.DataFrame, key_columns: Sequence[str]) -> pl.Series:
    """The uint64 key hash of each row of `frame`; 0 for every row when there are no key
    columns (a global aggregate has one key)."""
    if not key_columns:
        return pl.Series(KEY_HASH_COLUMN, [0] * frame.height, dtype=pl.UInt64)
    return frame.select(key_columns).hash_rows(seed=_SEED).alias(KEY_HASH_COLUMN)
