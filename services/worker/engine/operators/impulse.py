"""The impulse source: a counter per subtask, at a given rate, optionally bounded.

Semantics follow Arroyo's impulse connector, so queries written for Arroyo mean the same:
- `event_rate` (events per second, required) is the rate of the whole table: each of the
  P subtasks emits `event_rate / P`. `0` means as fast as possible (Arroyo has no such
  value; it is how benchmarks run).
- `message_count` (optional) bounds each subtask: subtask i emits counters 0..N-1 and
  then finishes, so the table holds P * N rows in all. Without it the source is unbounded.
- columns: `counter` BIGINT (0, 1, 2, ... per subtask) and `subtask_index` BIGINT.

Its checkpoint state is the next counter of each subtask. Restored at the same parallelism,
each subtask resumes at its own counter; at another parallelism, a subtask that existed
before resumes at its own and a new one at the largest restored counter, so counters keep
increasing (with `message_count`, a new subtask then emits only what remains of its bound).

Batches cover about `BATCH_INTERVAL_S` of the per-subtask rate (at least one row), so at
low rates rows leave the source within that interval of being due, and at high rates
per-batch overhead stays small; as fast as possible, batches are `UNPACED_BATCH_ROWS`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from services.paths import PathPolicy
from services.worker.engine.errors import ConnectorOptionError
from services.worker.engine.operators.base import EXHAUSTED, Pending, Poll, SourceOperator
from services.worker.engine.pacing import Pacer
from services.worker.engine.row_schema import Field, RowSchema
from weir.v1 import dataflow_pb2

BATCH_INTERVAL_S = 0.01
MAX_PACED_BATCH_ROWS = 8192
UNPACED_BATCH_ROWS = 65536

IMPULSE_SCHEMA = RowSchema([Field("counter", pl.Int64(), False), Field("subtask_index", pl.Int64(), False)])
_ARROW_SCHEMA = pa.schema(
    [pa.field("counter", pa.int64(), False), pa.field("subtask_index", pa.int64(), False)]
)

_STATE_SCHEMA = pa.schema(
    [pa.field("subtask_index", pa.int64(), False), pa.field("next_counter", pa.int64(), False)]
)


@dataclass(frozen=True)
class ImpulseOptions:
    """The options of an impulse table, parsed."""

    event_rate: float
    message_count: int | None

    @classmethod
    def parse(cls, options: Mapping[str, str]) -> ImpulseOptions:
        for key in options:
            if key not in ("event_rate", "message_count"):
                raise ConnectorOptionError(
                    key,
                    f"unknown option {key!r} for connector 'impulse' (options: event_rate, message_count)",
                )
        if "event_rate" not in options:
            raise ConnectorOptionError(
                "", "connector 'impulse' needs option event_rate (events per second; 0 = as fast as possible)"
            )
        text = options["event_rate"]
        try:
            event_rate = float(text)
        except ValueError:
            event_rate = math.nan
        if not math.isfinite(event_rate) or event_rate < 0:
            raise ConnectorOptionError(
                "event_rate", f"event_rate must be a number of events per second >= 0, not {text!r}"
            )
        message_count = None
        if "message_count" in options:
            text = options["message_count"]
            try:
                message_count = int(text)
            except ValueError:
                message_count = -1
            if message_count < 0:
                raise ConnectorOptionError(
                    "message_count", f"message_count must be a whole number >= 0, not {text!r}"
                )
        return cls(event_rate, message_count)


class ImpulseSource(SourceOperator):
    connector = "impulse"
    operator_name = "ImpulseSource"

    @classmethod
    def validate_options(cls, options: Mapping[str, str], paths: PathPolicy | None) -> None:
        ImpulseOptions.parse(options)

    @classmethod
    def table_schema(cls, declared: RowSchema | None) -> RowSchema:
        if declared is not None and len(declared) and declared != IMPULSE_SCHEMA:
            raise ConnectorOptionError(
                "",
                "impulse tables have the fixed columns "
                "(counter BIGINT NOT NULL, subtask_index BIGINT NOT NULL)",
            )
        return IMPULSE_SCHEMA

    def __init__(self, spec: dataflow_pb2.Operator, subtask_index: int, parallelism: int) -> None:
        super().__init__(spec, subtask_index, parallelism)
        options = ImpulseOptions.parse(spec.source.options)
        self._rate = options.event_rate / parallelism
        self._limit = options.message_count
        if self._rate > 0:
            self._batch_rows = min(max(int(self._rate * BATCH_INTERVAL_S), 1), MAX_PACED_BATCH_ROWS)
        else:
            self._batch_rows = UNPACED_BATCH_ROWS
        self._pacer: Pacer | None = None
        self._next = 0
        # The counter the pacer's schedule starts from (a restored source starts later).
        self._paced_from = 0
        # Built once and sliced per batch (zero-copy): a batch costs one vectorized add.
        self._offsets = pl.int_range(0, self._batch_rows, dtype=pl.Int64, eager=True).to_arrow()
        self._subtask_column = pa.repeat(pa.scalar(subtask_index, pa.int64()), self._batch_rows)

    @property
    def emitted(self) -> int:
        """Rows emitted so far (the next counter value)."""
        return self._next

    def poll(self) -> Poll:
        rows = self._batch_rows
        if self._limit is not None:
            rows = min(rows, self._limit - self._next)
            if rows <= 0:
                return EXHAUSTED
        if self._rate > 0:
            if self._pacer is None:
                self._pacer = Pacer(self._rate)
                self._paced_from = self._next
            due = self._pacer.due(self._next - self._paced_from + rows - 1)
            if due > time.monotonic():
                return Pending(due)
        counter = pc.add(self._offsets.slice(0, rows), pa.scalar(self._next, pa.int64()))
        batch = pa.RecordBatch.from_arrays(
            [counter, self._subtask_column.slice(0, rows)], schema=_ARROW_SCHEMA
        )
        self._next += rows
        return batch

    def snapshot(self, epoch: int) -> pa.Table:
        return pa.table(
            {"subtask_index": [self.subtask_index], "next_counter": [self._next]}, schema=_STATE_SCHEMA
        )

    def restore(self, tables: list[pa.Table]) -> None:
        state = pa.concat_tables([t.select(["subtask_index", "next_counter"]) for t in tables])
        if not state.num_rows:
            return
        own = state.filter(pc.equal(state.column("subtask_index"), self.subtask_index))
        chosen = own if own.num_rows else state
        self._next = int(pc.max(chosen.column("next_counter")).as_py())
