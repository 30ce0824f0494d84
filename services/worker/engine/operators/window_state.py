"""The open windows of a window aggregate, as partial aggregates in Polars frames.

Two layouts, one interface (`add`, `emit`, `drain`, `frame`/`replace` for checkpoints):
- `PaneWindows` (tumble and hop): partials per key and *pane*, the slide-sized,
  epoch-aligned interval a row falls in. A hop window of width W and slide S is the merge
  of its W/S panes, so a row is aggregated once rather than once per window it belongs to;
  a tumble window is the case W = S. Batches' partials are appended and merged
  (re-aggregated) only when a window is due or too many are pending, so the per-batch cost
  is one `group_by` over the batch.
- `SessionWindows`: per key, a sorted set of sessions [first, last + gap) that new rows
  extend or merge, vectorized as a sort plus a running maximum per key.

Times are Int64 microseconds since the epoch. Every state row carries `EMITTED_BEFORE`:
windows ending at or before it were already emitted for that key (a hop pane outlives
the first windows it belonged to), which a restored checkpoint must remember too.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from services.worker.engine.operators.aggregate_functions import CompiledAggregate

TIME = "__time"
PANE = "__pane"
START = "_window_start"
END = "_window_end"
EMITTED_BEFORE = "__emitted_before"
WINDOW_START = "__window_start"
_SESSION = "__session"
_K = "__k"
# Merge appended partials once this many batches are pending, to bound memory.
MAX_PENDING_PARTIALS = 16


def _ceil_div(numerator: pl.Expr, denominator: int) -> pl.Expr:
    return -((-numerator) // denominator)


def due_hop_windows(state: pl.DataFrame, before: int, size: int, slide: int) -> pl.DataFrame:
    """Each pane row once per hop window it belongs to that is due: ending at or before
    `before`, and after the row's `EMITTED_BEFORE`. The windows holding pane p start at
    p - k * slide for k in [0, size / slide); solving both conditions for k gives a range
    per row, so only due (row, window) pairs are made: usually one window per row, where
    listing all size / slide windows and filtering would make every row that many times."""
    pane = pl.col(PANE)
    first = pl.max_horizontal(pl.lit(0, pl.Int64), _ceil_div(pane + size - before, slide))
    # Clamped, as "never emitted" is the smallest Int64, and below p - size it allows all k anyway.
    emitted_before = pl.max_horizontal(pl.col(EMITTED_BEFORE), pane - size)
    after = pl.min_horizontal(pl.lit(size // slide, pl.Int64), _ceil_div(pane + size - emitted_before, slide))
    return (
        state.with_columns(pl.int_ranges(first, pl.max_horizontal(first, after)).alias(_K))
        .explode(_K)
        .drop_nulls(_K)
        .with_columns((pane - pl.col(_K) * slide).alias(WINDOW_START))
        .drop(_K)
    )


class PaneWindows:
    def __init__(
        self,
        group: Sequence[str],
        aggregates: Sequence[CompiledAggregate],
        size_us: int,
        slide_us: int,
        aligned: bool = False,
    ) -> None:
        self._group = list(group)
        self._partial = [e for a in aggregates for e in a.partial]
        self._combine = [e for a in aggregates for e in a.combine]
        self._size = size_us
        self._slide = slide_us
        # `TIME` is already a window's start (rows of windows computed upstream).
        self._aligned = aligned
        # The `before` of the last emit: hop windows end on multiples of the slide, so no
        # window comes due until `before` crosses the next one (while the earliest pane
        # stays in the state for a whole width).
        self._emitted_up_to: int | None = None
        self._pending: list[pl.DataFrame] = []
        self._min_pane: int | None = None
        self._max_pane: int | None = None

    def add(self, frame: pl.DataFrame, emitted_before: int) -> None:
        """Aggregate rows (with a `TIME` column) into the panes they fall in."""
        pane = pl.col(TIME) if self._aligned else pl.col(TIME) - pl.col(TIME) % self._slide
        panes = frame.with_columns(pane.alias(PANE))
        partial = panes.group_by([*self._group, PANE]).agg(self._partial)
        self._append(partial.with_columns(pl.lit(emitted_before, pl.Int64).alias(EMITTED_BEFORE)))

    def _append(self, partial: pl.DataFrame) -> None:
        if not partial.height:
            return
        low, high = partial.get_column(PANE).min(), partial.get_column(PANE).max()
        assert isinstance(low, int) and isinstance(high, int)
        self._min_pane = low if self._min_pane is None else min(self._min_pane, low)
        self._max_pane = high if self._max_pane is None else max(self._max_pane, high)
        self._pending.append(partial)
        if len(self._pending) >= MAX_PENDING_PARTIALS:
            # Merge the two newest partials and each older one no larger than what is
            # being merged: sizes stay tiered, so a row is re-aggregated a logarithmic
            # number of times before its window is due, rather than the whole state at
            # every merge.
            start = len(self._pending) - 2
            rows = self._pending[-1].height + self._pending[-2].height
            while start > 0 and self._pending[start - 1].height <= rows:
                start -= 1
                rows += self._pending[start].height
            self._pending[start:] = [self._combined(self._pending[start:])]

    def _merge(self) -> pl.DataFrame:
        if len(self._pending) > 1:
            self._pending = [self._combined(self._pending)]
        return self._pending[0] if self._pending else pl.DataFrame()

    def _combined(self, partials: list[pl.DataFrame]) -> pl.DataFrame:
        return (
            pl.concat(partials, how="vertical_relaxed")
            .group_by([*self._group, PANE])
            .agg([*self._combine, pl.col(EMITTED_BEFORE).max()])
        )

    def emit(self, before: int) -> pl.DataFrame | None:
        """Merged partials (group, `START`, `END`) of the windows that end at or before
        `before` and were not emitted yet; None if there are none."""
        # The earliest window holding the earliest pane ends one slide after that pane.
        if self._min_pane is None or before < self._min_pane + self._slide:
            return None
        last = self._emitted_up_to
        if last is not None and not self._aligned and before // self._slide <= last // self._slide:
            return None
        self._emitted_up_to = before if last is None else max(last, before)
        state = self._merge()
        size, slide = self._size, self._slide
        if size == slide:
            end = pl.col(PANE) + size
            windows = state.filter((end <= before) & (end > pl.col(EMITTED_BEFORE)))
            windows = windows.with_columns(pl.col(PANE).alias(WINDOW_START))
        else:
            windows = due_hop_windows(state, before, size, slide)
        due = (
            windows.group_by([*self._group, WINDOW_START])
            .agg(self._combine)
            .with_columns(pl.col(WINDOW_START).alias(START), (pl.col(WINDOW_START) + size).alias(END))
            .drop(WINDOW_START)
        )
        kept = state.filter(pl.col(PANE) + size > before).with_columns(
            pl.max_horizontal(pl.col(EMITTED_BEFORE), pl.lit(before, pl.Int64)).alias(EMITTED_BEFORE)
        )
        self._replace(kept)
        return due if due.height else None

    def drain(self) -> pl.DataFrame | None:
        """Every window with data, complete or not (the input ended)."""
        if self._max_pane is None:
            return None
        return self.emit(self._max_pane + self._size)

    def frame(self) -> pl.DataFrame:
        """All state rows, merged (for a checkpoint)."""
        return self._merge()

    def replace(self, frame: pl.DataFrame) -> None:
        """Set the state rows (restoring a checkpoint)."""
        self._replace(frame)
        self._emitted_up_to = None

    def _replace(self, frame: pl.DataFrame) -> None:
        self._pending = [frame] if frame.height else []
        self._min_pane = self._max_pane = None
        if frame.height:
            low, high = frame.get_column(PANE).min(), frame.get_column(PANE).max()
            assert isinstance(low, int) and isinstance(high, int)
            self._min_pane, self._max_pane = low, high


class SessionWindows:
    def __init__(self, group: Sequence[str], aggregates: Sequence[CompiledAggregate], gap_us: int) -> None:
        self._group = list(group)
        self._partial = [e for a in aggregates for e in a.partial]
        self._combine = [e for a in aggregates for e in a.combine]
        self._gap = gap_us
        self._state: pl.DataFrame | None = None
        self._min_end: int | None = None

    def add(self, frame: pl.DataFrame, emitted_before: int) -> None:
        """Start a session per key and distinct time, then merge it into the open ones."""
        partial = (
            frame.group_by([*self._group, TIME])
            .agg(self._partial)
            .rename({TIME: START})
            .with_columns(
                (pl.col(START) + self._gap).alias(END), pl.lit(emitted_before, pl.Int64).alias(EMITTED_BEFORE)
            )
        )
        parts = [partial] if self._state is None else [self._state, partial]
        self._set(self._merge(pl.concat(parts, how="diagonal_relaxed")))

    def _merge(self, sessions: pl.DataFrame) -> pl.DataFrame:
        """Merge each key's overlapping sessions: sorted by start, a session starts anew
        where its start is past the end of every earlier one."""
        ordered = sessions.sort([*self._group, START])
        previous_end = pl.col(END).cum_max().shift(1).over(self._group)
        numbered = ordered.with_columns(
            (previous_end.is_null() | (pl.col(START) >= previous_end)).alias(_SESSION)
        ).with_columns(pl.col(_SESSION).cum_sum().over(self._group))
        return (
            numbered.group_by([*self._group, _SESSION])
            .agg(pl.col(START).min(), pl.col(END).max(), *self._combine, pl.col(EMITTED_BEFORE).max())
            .drop(_SESSION)
        )

    def emit(self, before: int) -> pl.DataFrame | None:
        """Sessions that end at or before `before` (no later row can extend them)."""
        if self._state is None or self._min_end is None or self._min_end > before:
            return None
        state = self._state
        self._set(state.filter(pl.col(END) > before))
        due = state.filter(pl.col(END) <= before).drop(EMITTED_BEFORE)
        return due if due.height else None

    def drain(self) -> pl.DataFrame | None:
        if self._state is None:
            return None
        due = self._state.drop(EMITTED_BEFORE)
        self._set(None)
        return due if due.height else None

    def frame(self) -> pl.DataFrame:
        return self._state if self._state is not None else pl.DataFrame()

    def replace(self, frame: pl.DataFrame) -> None:
        self._set(self._merge(frame) if frame.height else None)

    def _set(self, state: pl.DataFrame | None) -> None:
        self._state = state if state is not None and state.height else None
        end = self._state.get_column(END).min() if self._state is not None else None
        assert end is None or isinstance(end, int)
        self._min_end = end
