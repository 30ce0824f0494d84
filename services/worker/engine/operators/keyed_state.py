"""`KeyedStateOperator`: the restore half shared by operators whose state is keyed.

A checkpoint holds every old subtask's rows with their `_key_hash` (key_ranges.py); a
restored subtask keeps the rows whose hash its key range owns, at whatever parallelism it
runs now. Which range it owns depends on its subtask index, known only at `open`, while
restore comes before `open`: so the tables wait here until then.
"""

from __future__ import annotations

import abc

import polars as pl
import pyarrow as pa

from services.worker.engine.key_ranges import key_range
from services.worker.engine.operators.base import Operator, OperatorContext
from services.worker.engine.operators.key_by import KEY_HASH_COLUMN


class KeyedStateOperator(Operator):
    # Restored tables waiting for `open`.
    _restored: list[pa.Table] | None = None

    def open(self, context: OperatorContext) -> None:
        super().open(context)
        if self._restored is not None:
            tables, self._restored = self._restored, None
            self._restore_owned_rows(tables)

    def restore(self, tables: list[pa.Table]) -> None:
        if self._context is None:
            self._restored = tables
        else:
            self._restore_owned_rows(tables)

    def _restore_owned_rows(self, tables: list[pa.Table]) -> None:
        frames = [f for f in (pl.from_arrow(t) for t in tables if t.num_rows) if isinstance(f, pl.DataFrame)]
        if not frames:
            return
        state = pl.concat(frames, how="diagonal_relaxed")
        context = self.context
        owned = key_range(context.subtask_index, context.parallelism)
        self.restore_owned(state.filter(owned.contains(pl.col(KEY_HASH_COLUMN))))

    @abc.abstractmethod
    def restore_owned(self, state: pl.DataFrame) -> None:
        """Take over the restored state rows of the keys this subtask owns (with their
        `_key_hash` column; possibly none of them)."""
