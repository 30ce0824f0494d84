"""GROUP BY a time window (tumble, hop or session) and keys, with SQL aggregates.

Each batch is aggregated with one Polars `group_by` into partials (window_state.py);
a window is emitted once complete: in event time when a watermark passes its end, in
processing time when the clock does, and everything still open when the input ends
(a bounded source is exhausted, or the job stops gracefully), as Arroyo does.

Event time is the plan's `time_column`. Rows at or before the latest watermark are late:
they are dropped and counted in the operator's `warnings` (with one log line the first
time), since their windows may already be out. Rows without an event time are dropped
and counted the same way. In processing time a row's time is its arrival here, and the
operator passes on the clock as a watermark once per window period (after the windows it
completed), so that a window join downstream knows when both its inputs emitted a window.

Rows that already carry a window (`WINDOW_KIND_INPUT`: the results of a windowed aggregate,
grouped again by their window, as Nexmark q5's maximum count per window) are aggregated
into that window, which is emitted when the watermark passes its end.

Output rows, per window sorted by window start then key: the key columns,
`_window_start` and `_window_end` (TIMESTAMP), the optional `window` struct, the aggregates.
"""

from __future__ import annotations

import time

import polars as pl
import pyarrow as pa

from services.worker.engine.column_reads import ColumnReads
from services.worker.engine.envelope import Batch, ControlMessage, Watermark
from services.worker.engine.expressions import check_guards, parse_expression
from services.worker.engine.frames import to_frame, to_record_batch
from services.worker.engine.operators.aggregate_functions import compile_aggregates
from services.worker.engine.operators.base import Output
from services.worker.engine.operators.key_by import KEY_HASH_COLUMN, key_hashes
from services.worker.engine.operators.keyed_state import KeyedStateOperator
from services.worker.engine.operators.window_state import (
    EMITTED_BEFORE,
    END,
    START,
    TIME,
    PaneWindows,
    SessionWindows,
)
from services.worker.engine.row_schema import Field, RowSchema
from services.worker.engine.telemetry_buffer import LogLevel
from weir.v1 import dataflow_pb2

WindowKind = dataflow_pb2.WindowAggregateSpec.WindowKind
_GLOBAL_KEY = "__global"
_NO_TIME = -(2**63)
_TIMESTAMP = pl.Datetime("us")


class WindowAggregateOperator(KeyedStateOperator):
    operator_name = "WindowAggregate"

    def __init__(self, spec: dataflow_pb2.Operator, input_schema: RowSchema) -> None:
        super().__init__(spec, input_schema)
        window = spec.window_aggregate
        self._keys = list(window.key_columns)
        for key in self._keys:
            if input_schema.get(key) is None:
                raise ValueError(f"group key {key!r} is not a column of {input_schema}")
        self._time_column = window.time_column
        if self._time_column:
            field = input_schema.get(self._time_column)
            if field is None or not isinstance(field.dtype, pl.Datetime):
                raise ValueError(
                    f"time column {self._time_column!r} is not a TIMESTAMP column of {input_schema}"
                )
        aggregates = compile_aggregates(window.aggregates, input_schema)
        self._guards = [g for a in aggregates for g in a.guards]
        self._finals = [a.final for a in aggregates]
        self._group = self._keys or [_GLOBAL_KEY]
        self._windows: PaneWindows | SessionWindows
        if window.window == WindowKind.WINDOW_KIND_TUMBLE:
            _check_positive("size", window.size_ms)
            self._windows = PaneWindows(self._group, aggregates, window.size_ms * 1000, window.size_ms * 1000)
        elif window.window == WindowKind.WINDOW_KIND_HOP:
            _check_positive("size", window.size_ms)
            _check_positive("slide", window.slide_ms)
            if window.size_ms % window.slide_ms:
                raise ValueError(
                    f"a hop window's width ({window.size_ms} ms) must be a multiple of its slide "
                    f"({window.slide_ms} ms)"
                )
            self._windows = PaneWindows(
                self._group, aggregates, window.size_ms * 1000, window.slide_ms * 1000
            )
        elif window.window == WindowKind.WINDOW_KIND_INPUT:
            _check_positive("size", window.size_ms)
            field = input_schema.get(window.input_window_column)
            if field is None or not isinstance(field.dtype, pl.Struct):
                raise ValueError(
                    f"input window column {window.input_window_column!r} is not a window struct "
                    f"column of {input_schema}"
                )
            size = window.size_ms * 1000
            self._windows = PaneWindows(self._group, aggregates, size, size, aligned=True)
        elif window.window == WindowKind.WINDOW_KIND_SESSION:
            _check_positive("gap", window.gap_ms)
            self._windows = SessionWindows(self._group, aggregates, window.gap_ms * 1000)
        else:
            raise ValueError(f"operator {spec.id} has no window kind")
        self._window_column = window.window_column
        # Windows from upstream: a row's time is its window's start, and its window is
        # complete when the watermark passes the end, as in event time.
        self._input_window = (
            window.input_window_column if window.window == WindowKind.WINDOW_KIND_INPUT else ""
        )
        self._watermark_driven = bool(self._time_column or self._input_window)
        self._reads = ColumnReads.whole(
            [*self._keys, *(c for c in (self._time_column, self._input_window) if c)]
        ) | ColumnReads.of_expressions(parse_expression(a.argument) for a in window.aggregates if a.argument)
        fields = [f for k in self._keys for f in input_schema if f.name == k]
        fields += [Field(START, _TIMESTAMP, False), Field(END, _TIMESTAMP, False)]
        if self._window_column:
            struct = pl.Struct({"start": _TIMESTAMP, "end": _TIMESTAMP})
            fields.append(Field(self._window_column, struct, False))
        fields += [Field(a.name, a.dtype, a.nullable) for a in aggregates]
        self.output_schema = RowSchema(fields)
        # Event time before which rows are late (and windows ending there are out).
        self._late_before = _NO_TIME
        self._warned_late = False
        # Processing time: the clock's watermarks go out once per slide (or gap).
        self._clock_period = (window.slide_ms or window.size_ms or window.gap_ms) * 1000
        self._next_clock_watermark = _NO_TIME

    def columns_read(self, wanted: ColumnReads | None) -> ColumnReads:
        return self._reads

    def process_batch(self, batch: Batch, output: Output) -> None:
        frame = to_frame(batch.data)
        check_guards(frame, self._guards)
        if self._input_window:
            starts = pl.col(self._input_window).struct.field("start").dt.epoch("us")
            frame = frame.with_columns(starts.alias(TIME))
        elif self._time_column:
            times = frame.get_column(self._time_column).dt.epoch("us")
            frame = frame.with_columns(times.alias(TIME))
            earliest = times.min()
            # In order (the usual case): no row to drop, so no copy of the batch to make.
            if earliest is None or earliest < self._late_before:
                on_time = frame.filter(pl.col(TIME) >= self._late_before)
                if on_time.height < frame.height:
                    self._count_late(frame.height - on_time.height)
                frame = on_time
        else:
            now = time.time_ns() // 1000
            self._emit(self._windows.emit(now), batch.read_time_ns, output)
            self._pass_clock(now, output)
            frame = frame.with_columns(pl.lit(now, pl.Int64).alias(TIME))
        if not self._keys:
            frame = frame.with_columns(pl.lit(True).alias(_GLOBAL_KEY))
        if frame.height:
            self._windows.add(frame, self._late_before)

    def process_control(self, message: ControlMessage, output: Output) -> None:
        if isinstance(message, Watermark):
            before = (message.timestamp_ms + 1) * 1000 if self._watermark_driven else time.time_ns() // 1000
            if self._watermark_driven:
                self._late_before = max(self._late_before, before)
            self._emit(self._windows.emit(before), time.time_ns(), output)
        output.emit(message)

    def finish(self, output: Output) -> None:
        self._emit(self._windows.drain(), time.time_ns(), output)

    def _pass_clock(self, now: int, output: Output) -> None:
        """In processing time, tell downstream (a window join) that windows ending before
        `now` are out: a watermark after the windows emitted, once per window period, since
        no watermark comes from upstream to carry that."""
        if now < self._next_clock_watermark:
            return
        self._next_clock_watermark = (now // self._clock_period + 1) * self._clock_period
        output.emit(Watermark(now // 1000 - 1))

    def _count_late(self, rows: int) -> None:
        context = self.context
        context.metrics.warnings += rows
        if not self._warned_late:
            self._warned_late = True
            context.log(
                f"dropped {rows} late rows (event time before the watermark, or none); "
                "later ones are counted in this operator's warnings",
                LogLevel.warn,
            )

    def _emit(self, due: pl.DataFrame | None, read_time_ns: int, output: Output) -> None:
        if due is None:
            return
        start, end = pl.col(START).cast(_TIMESTAMP), pl.col(END).cast(_TIMESTAMP)
        columns: list[pl.Expr] = [pl.col(k) for k in self._keys]
        columns += [start, end]
        if self._window_column:
            columns.append(pl.struct(start=start, end=end).alias(self._window_column))
        columns += self._finals
        result = due.sort(START).select(columns)
        output.emit(Batch(to_record_batch(result), read_time_ns))

    # Checkpoints

    def snapshot(self, epoch: int) -> pa.Table | None:
        """The open windows' partials, with the key hash that routes their key."""
        state = self._windows.frame()
        if not state.height:
            return None
        return state.with_columns(key_hashes(state, self._keys)).to_arrow()

    def restore_owned(self, state: pl.DataFrame) -> None:
        """The restored partials of the keys this subtask owns become its open windows."""
        state = state.drop(KEY_HASH_COLUMN)
        self._windows.replace(state)
        if state.height:
            earliest = state.get_column(EMITTED_BEFORE).min()
            assert isinstance(earliest, int)
            self._late_before = earliest


def _check_positive(what: str, value_ms: int) -> None:
    if value_ms <= 0:
        raise ValueError(f"a window {what} must be positive, not {value_ms} ms")
