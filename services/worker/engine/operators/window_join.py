"""An inner join of two windowed aggregates on equal windows and equal keys (Arroyo's
window join): `... FROM (SELECT ..., TUMBLE(..) AS window ... GROUP BY ..) A JOIN (..) B
ON A.k = B.k AND A.window = B.window`.

Both inputs reach the operator hash-shuffled by their join keys and window (a join key
alone may be skewed), merged into one stream by the task's input gate; the marker column
only the left input carries tells them apart.
Rows are held per side until the watermark passes their window's end — by then both
windowed aggregates upstream have emitted that window, since each emits a window before
passing on the watermark that completes it, and the gate's watermark is the least of its
inputs' — and then the window's rows of the two sides are joined with one Polars join
and emitted. Whatever is held when the input ends is joined and emitted too.

Windows are equal when their ends are: the planner only joins inputs with the same
tumbling or hopping window, whose windows of one end have one start. NULL keys match
nothing, as in SQL.

State (checkpointed at barriers): the held rows of both sides in one table, a `_side`
column saying whose, and the `_key_hash` of each row's join keys and window (the same
hash the shuffle routed them by), so a restore at another parallelism keeps what its key
range owns.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import polars as pl
import pyarrow as pa

from services.worker.engine.envelope import Batch, ControlMessage, Watermark
from services.worker.engine.frames import to_frame, to_record_batch
from services.worker.engine.operators.base import Output
from services.worker.engine.operators.key_by import key_hashes
from services.worker.engine.operators.keyed_state import KeyedStateOperator
from services.worker.engine.row_schema import Field, RowSchema
from weir.v1 import dataflow_pb2

# Internal columns of the held rows: the window's end (Int64 microseconds), and, in a
# snapshot, which side a row is from.
_END = "__window_end"
_SIDE = "_side"
_LEFT, _RIGHT = 0, 1


@dataclass
class _Side:
    """One input's held rows, under their output names."""

    index: int
    schema: RowSchema  # output names, no marker
    renames: dict[str, str]  # input name -> output name
    keys: list[str]  # output names
    window_column: str  # output name
    frames: list[pl.DataFrame] = field(default_factory=list)
    earliest_end: int | None = None

    def add(self, frame: pl.DataFrame) -> None:
        if not frame.height:
            return
        low = frame.get_column(_END).min()
        assert isinstance(low, int)
        self.earliest_end = low if self.earliest_end is None else min(self.earliest_end, low)
        self.frames.append(frame)

    def held(self) -> pl.DataFrame:
        if not self.frames:
            return pl.DataFrame(schema={**self.schema.polars_schema(), _END: pl.Int64})
        if len(self.frames) > 1:
            self.frames = [pl.concat(self.frames, how="vertical_relaxed")]
        return self.frames[0]

    def take(self, before: int | None) -> pl.DataFrame:
        """The held rows of windows ending at or before `before` (all if None), removed."""
        held = self.held()
        if before is None:
            self.frames, self.earliest_end = [], None
            return held
        due = held.filter(pl.col(_END) <= before)
        kept = held.filter(pl.col(_END) > before)
        self.frames, self.earliest_end = [], None
        self.add(kept)
        return due


class WindowJoinOperator(KeyedStateOperator):
    operator_name = "WindowJoin"

    def __init__(self, spec: dataflow_pb2.Operator, input_schema: RowSchema) -> None:
        super().__init__(spec, input_schema)
        join = spec.window_join
        left_schema = RowSchema.from_columns(join.left_schema)
        right_schema = RowSchema.from_columns(join.right_schema)
        self._marker = join.side_column
        if left_schema.get(self._marker) is None or right_schema.get(self._marker) is not None:
            raise ValueError(f"only the left input of a window join may have the column {self._marker!r}")
        if len(join.left_keys) != len(join.right_keys):
            raise ValueError("a window join needs as many left keys as right keys")
        if join.left_qualifier == join.right_qualifier:
            raise ValueError(f"both sides of a window join are named {join.left_qualifier!r}")
        self._left = _side(
            _LEFT, left_schema, self._marker, join.left_qualifier, join.left_keys, join.left_window_column
        )
        self._right = _side(
            _RIGHT,
            right_schema,
            self._marker,
            join.right_qualifier,
            join.right_keys,
            join.right_window_column,
        )
        for left_key, right_key in zip(self._left.keys, self._right.keys, strict=True):
            left_type = self._left.schema.get(left_key)
            right_type = self._right.schema.get(right_key)
            assert left_type is not None and right_type is not None
            if left_type.dtype != right_type.dtype:
                # Equal values must hash alike on both sides to meet on one subtask.
                raise ValueError(f"join keys {left_key!r} and {right_key!r} have different types")
        self.output_schema = RowSchema([*self._left.schema, *self._right.schema])

    def process_batch(self, batch: Batch, output: Output) -> None:
        frame = to_frame(batch.data)
        side = self._left if self._marker in frame.columns else self._right
        if side is self._left:
            frame = frame.drop(self._marker)
        frame = frame.rename(side.renames)
        end = pl.col(side.window_column).struct.field("end").dt.epoch("us").alias(_END)
        side.add(frame.with_columns(end))

    def process_control(self, message: ControlMessage, output: Output) -> None:
        if isinstance(message, Watermark):
            before = (message.timestamp_ms + 1) * 1000
            earliest = [e for e in (self._left.earliest_end, self._right.earliest_end) if e is not None]
            if earliest and min(earliest) <= before:
                self._emit(before, output)
        output.emit(message)

    def finish(self, output: Output) -> None:
        self._emit(None, output)

    def _emit(self, before: int | None, output: Output) -> None:
        left, right = self._left.take(before), self._right.take(before)
        if not left.height or not right.height:
            return
        joined = left.join(
            right,
            left_on=[*self._left.keys, _END],
            right_on=[*self._right.keys, _END],
            how="inner",
            coalesce=False,
            suffix="__right",
        ).sort(_END)
        joined = joined.select(self.output_schema.names)
        if joined.height:
            output.emit(Batch(to_record_batch(joined), time.time_ns()))

    # Checkpoints

    def snapshot(self, epoch: int) -> pa.Table | None:
        """The held rows of both sides (see the module docstring)."""
        parts = []
        for side in (self._left, self._right):
            held = side.held()
            if held.height:
                hashes = key_hashes(held, [*side.keys, side.window_column])
                parts.append(held.with_columns(hashes, pl.lit(side.index, pl.Int8).alias(_SIDE)))
        if not parts:
            return None
        return pl.concat(parts, how="diagonal_relaxed").to_arrow()

    def restore_owned(self, state: pl.DataFrame) -> None:
        """The restored held rows of the keys this subtask owns go back to their sides."""
        for side in (self._left, self._right):
            rows = state.filter(pl.col(_SIDE) == side.index)
            if rows.height:  # else its columns may be missing: no snapshot held its rows
                side.add(rows.select([*side.schema.names, _END]))


def _side(
    index: int, schema: RowSchema, marker: str, qualifier: str, keys: Sequence[str], window_column: str
) -> _Side:
    """A side's columns under their output names (`qualifier.name`), checked."""
    renames = {f.name: f"{qualifier}.{f.name}" for f in schema if f.name != marker}
    fields = [Field(renames[f.name], f.dtype, f.nullable) for f in schema if f.name != marker]
    window = schema.get(window_column)
    if window is None or not isinstance(window.dtype, pl.Struct):
        raise ValueError(f"window column {window_column!r} is not a window struct column of {schema}")
    key_names = list(keys)
    for key in key_names:
        if key not in renames:
            raise ValueError(f"join key {key!r} is not a column of {schema}")
    return _Side(index, RowSchema(fields), renames, [renames[k] for k in key_names], renames[window_column])
