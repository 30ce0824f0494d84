"""Window joins: planned from SQL and run as real tasks (exact results against the same
aggregates and join computed in plain Polars), and operator by operator across
checkpoint restores at parallelism 1 -> 3 -> 2 (held rows split by key hash ranges)."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from services.worker.engine.envelope import Batch, Watermark
from services.worker.engine.key_ranges import owners
from services.worker.engine.operators.base import Operator
from services.worker.engine.operators.key_by import key_hashes
from services.worker.engine.operators.window_aggregate import WindowAggregateOperator
from services.worker.engine.operators.window_join import WindowJoinOperator
from services.worker.engine.row_schema import Field, RowSchema
from tests.engine.test_window_aggregate import Collect, opened
from tests.engine.test_window_job import TickSource, as_frame, run, tick_frame, ticks  # noqa: F401
from weir.v1 import dataflow_pb2

TABLES = (
    "CREATE TABLE ticks (ts TIMESTAMP, k BIGINT, v BIGINT, WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)\n"
    "WITH (connector = 'ticks', rows = '20000');\n"
    "CREATE TABLE fewer (ts TIMESTAMP, k BIGINT, v BIGINT, WATERMARK FOR ts AS ts - INTERVAL '2' SECOND)\n"
    "WITH (connector = 'ticks', rows = '12000');\n"
)
WINDOW_US = 10_000_000


def windowed(frame: pl.DataFrame, size_us: int, keys: list[str], *aggregates: pl.Expr) -> pl.DataFrame:
    """A tumbling aggregate in plain Polars: one row per key and window, with its start."""
    start = pl.col("ts").dt.epoch("us") // size_us * size_us
    return frame.group_by([*keys, start.alias("start")]).agg(*aggregates)


# A window start read back from JSON, in microseconds as the Polars computations have it.
WS_US = pl.col("ws").dt.epoch("us")


@pytest.mark.usefixtures("ticks")
@pytest.mark.parametrize("parallelism", [1, 2])
def test_a_keyed_window_join_equals_polars(parallelism: int) -> None:
    got = run(
        TABLES + "SELECT A.k, A.n, B.top, A.window.start AS ws\n"
        "FROM (SELECT k, count(*) AS n, TUMBLE(INTERVAL '10' SECOND) AS window FROM ticks\n"
        "      GROUP BY k, window) A\n"
        "JOIN (SELECT k, max(v) AS top, TUMBLE(INTERVAL '10' SECOND) AS window FROM fewer\n"
        "      WHERE v > 2 GROUP BY k, window) B\n"
        "ON A.k = B.k AND A.window = B.window\n"
        "WHERE A.n > 0",
        parallelism,
    )
    frame = as_frame(got, "ws")
    assert frame.columns == ["k", "n", "top", "ws"]
    actual = sorted(frame.with_columns(WS_US).iter_rows())

    left = windowed(tick_frame(0, 20_000), WINDOW_US, ["k"], pl.len().alias("n"))
    right = windowed(
        tick_frame(0, 12_000).filter(pl.col("v") > 2), WINDOW_US, ["k"], pl.col("v").max().alias("top")
    )
    expected = left.join(right, on=["k", "start"]).select("k", "n", "top", "start")
    # The smaller table ends in the middle of the windows of the larger one: those match nothing.
    assert 0 < expected.height < left.height
    assert actual == sorted(expected.with_columns(pl.col("n").cast(pl.Int64)).iter_rows())


@pytest.mark.usefixtures("ticks")
def test_a_join_on_the_window_alone_pairs_every_row_of_a_window() -> None:
    """q7's shape: per key maxima joined with the overall maximum of the window (a keyless
    aggregate, on one subtask) on the value and the window."""
    got = run(
        TABLES + "SELECT P.k, P.top, P.window.end AS we\n"
        "FROM (SELECT k, max(v) AS top, TUMBLE(INTERVAL '10' SECOND) AS window FROM ticks\n"
        "      GROUP BY k, window) P\n"
        "JOIN (SELECT max(v) AS best, TUMBLE(INTERVAL '10' SECOND) AS window FROM ticks\n"
        "      GROUP BY window) M\n"
        "ON P.window = M.window AND P.top = M.best",
        2,
    )
    frame = as_frame(got, "we")
    actual = sorted(frame.with_columns(pl.col("we").dt.epoch("us")).iter_rows())
    per_key = windowed(tick_frame(0, 20_000), WINDOW_US, ["k"], pl.col("v").max().alias("top"))
    best = windowed(tick_frame(0, 20_000), WINDOW_US, [], pl.col("v").max().alias("best"))
    expected = per_key.join(best, left_on=["start", "top"], right_on=["start", "best"])
    assert expected.height > best.height  # several keys reach the maximum in a window
    assert actual == sorted(expected.select("k", "top", pl.col("start") + WINDOW_US).iter_rows())


@pytest.mark.usefixtures("ticks")
def test_hot_items_per_hop_window_equal_polars() -> None:
    """Nexmark q5's shape: counts per key and hop window, joined with the largest count of
    each window (an aggregate of the counts by their window)."""
    counts = (
        "SELECT k, count(*) AS n, HOP(INTERVAL '2' SECOND, INTERVAL '10' SECOND) AS window\n"
        "FROM ticks WHERE v > 0 GROUP BY k, window"
    )
    got = run(
        TABLES + f"SELECT C.k, C.n, C.window.start AS ws FROM ({counts}) AS C\n"
        f"JOIN (SELECT max(n) AS top, window FROM ({counts}) GROUP BY window) AS M\n"
        "ON C.window = M.window AND C.n = M.top",
        2,
    )
    frame = as_frame(got, "ws")
    actual = sorted(frame.with_columns(WS_US).iter_rows())
    slide, size = 2_000_000, WINDOW_US
    pane = pl.col("ts").dt.epoch("us") // slide * slide
    starts = pl.concat_list([pane - i * slide for i in range(size // slide)]).alias("start")
    rows = tick_frame(0, 20_000).filter(pl.col("v") > 0).with_columns(starts).explode("start")
    per_key = rows.group_by("k", "start").agg(pl.len().cast(pl.Int64).alias("n"))
    top = per_key.group_by("start").agg(pl.col("n").max().alias("top"))
    expected = per_key.join(top, left_on=["start", "n"], right_on=["start", "top"])
    assert expected.height >= top.height > 50
    assert actual == sorted(expected.select("k", "n", "start").iter_rows())


def test_a_processing_time_window_aggregate_passes_its_clock_on_as_watermarks() -> None:
    """What tells a window join downstream that both its inputs emitted a window."""
    spec = dataflow_pb2.Operator(
        id="window_2",
        name="WindowAggregate",
        window_aggregate=dataflow_pb2.WindowAggregateSpec(
            window=dataflow_pb2.WindowAggregateSpec.WINDOW_KIND_TUMBLE, size_ms=60_000, key_columns=["k"]
        ),
    )
    schema = RowSchema([Field("k", pl.Int64(), False)])
    operator = opened(WindowAggregateOperator(spec, schema))
    collect = Collect()
    before_ms = time.time_ns() // 1_000_000
    for _ in range(3):
        operator.process_batch(Batch(pa.record_batch({"k": [1, 2]}), 0), collect)
    watermarks = [m for m in collect.messages if isinstance(m, Watermark)]
    # One per window period, not one per batch.
    assert len(watermarks) == 1
    assert before_ms - 1 <= watermarks[0].timestamp_ms <= time.time_ns() // 1_000_000


# Operator by operator, across restores.

WINDOW = pl.Struct({"start": pl.Datetime("us"), "end": pl.Datetime("us")})
LEFT = RowSchema(
    [
        Field("k", pl.Int64(), True),
        Field("n", pl.Int64(), False),
        Field("window", WINDOW, False),
        Field("__join_left", pl.Boolean(), False),
    ]
)
RIGHT = RowSchema([Field("key", pl.Int64(), True), Field("m", pl.Int64(), False), Field("w", WINDOW, False)])


def join_operator() -> WindowJoinOperator:
    spec = dataflow_pb2.WindowJoinSpec(
        left_schema=LEFT.to_columns(),
        right_schema=RIGHT.to_columns(),
        left_keys=["k"],
        right_keys=["key"],
        left_window_column="window",
        right_window_column="w",
        left_qualifier="a",
        right_qualifier="b",
        side_column="__join_left",
    )
    operator = dataflow_pb2.Operator(id="join_5", name="WindowJoin", window_join=spec)
    return WindowJoinOperator(operator, LEFT)


def side_rows(count: int, seed: int, left: bool) -> pl.DataFrame:
    """`count` aggregate-like rows over 12 one-second windows and keys 0..40 (some NULL)."""
    i = pl.col("i")
    start = pl.from_epoch((i * 7 + seed) % 12 * 1000, time_unit="ms").cast(pl.Datetime("us"))
    frame = pl.DataFrame({"i": pl.int_range(0, count, dtype=pl.Int64, eager=True)}).select(
        pl.when(i % 29 == 0).then(None).otherwise(i * seed % 41).alias("k" if left else "key"),
        (i * 3 % 101).alias("n" if left else "m"),
        pl.struct(start=start, end=start + dt.timedelta(seconds=1)).alias("window" if left else "w"),
    )
    return frame.with_columns(pl.lit(True).alias("__join_left")) if left else frame


class KeyRouter:
    """Routes each batch's rows to the subtask owning their key and window, as the shuffle does."""

    def __init__(self, subtasks: list[Operator], collect: Collect) -> None:
        self.subtasks = subtasks
        self.collect = collect

    def send(self, frame: pl.DataFrame, keys: list[str]) -> None:
        routed = frame.with_columns(owners(key_hashes(frame, keys), len(self.subtasks)).alias("__owner"))
        for index, subtask in enumerate(self.subtasks):
            part = routed.filter(pl.col("__owner") == index).drop("__owner")
            if part.height:
                subtask.process_batch(Batch(part.to_arrow().to_batches()[0], 0), self.collect)

    def watermark(self, timestamp_ms: int) -> None:
        for subtask in self.subtasks:
            subtask.process_control(Watermark(timestamp_ms), self.collect)


def test_held_rows_survive_restores_at_parallelism_1_then_3_then_2(tmp_path: Path) -> None:
    # Windows come in order, as from aggregates upstream: a window's rows all arrive
    # before the watermark that passes its end.
    left = side_rows(900, 5, left=True).sort(pl.col("window").struct.field("end"))
    right = side_rows(700, 3, left=False).sort(pl.col("w").struct.field("end"))
    collect = Collect()
    checkpoint: list[pa.Table] = []
    # Each phase gets a third of both sides; after the second, a watermark completes the
    # windows that end before any row of the last third, whose rows (held across the
    # first restore) are emitted.
    last_end = min(left[600:]["window"].struct.field("end").min(), right[468:]["w"].struct.field("end").min())
    watermark = int(last_end.timestamp() * 1000) - 2 if isinstance(last_end, dt.datetime) else 0
    phases = [(1, 0, None), (3, 1, watermark), (2, 2, None)]
    for phase, (parallelism, third, watermark_ms) in enumerate(phases):
        subtasks: list[Operator] = []
        for index in range(parallelism):
            operator = join_operator()
            operator.restore(checkpoint)  # before open, as tasks do
            subtasks.append(opened(operator, index, parallelism))
        router = KeyRouter(subtasks, collect)
        for frame, keys, size in ((left, ["k", "window"], 300), (right, ["key", "w"], 234)):
            for offset in range(third * size, min((third + 1) * size, frame.height), 50):
                router.send(frame.slice(offset, min(50, (third + 1) * size - offset)), keys)
        if watermark_ms is not None:
            emitted = len(collect.rows())
            router.watermark(watermark_ms)
            assert len(collect.rows()) > emitted
        checkpoint = []
        for index, subtask in enumerate(subtasks):
            snapshot = subtask.snapshot(phase + 1)
            if snapshot is not None:
                assert "_key_hash" in snapshot.column_names
                path = tmp_path / f"epoch_{phase + 1}_{index}.parquet"
                pq.write_table(snapshot, path)
                checkpoint.append(pq.read_table(path))
        assert checkpoint
    for subtask in subtasks:
        subtask.finish(collect)

    got = sorted(
        (row["a.k"], row["a.n"], row["b.m"], row["a.window"]["start"], row["b.key"]) for row in collect.rows()
    )
    expected = left.join(right, left_on=["k", "window"], right_on=["key", "w"])
    assert expected.height > 100
    assert got == sorted(
        expected.select(
            "k", "n", "m", pl.col("window").struct.field("start"), pl.col("k").alias("key")
        ).iter_rows()
    )
