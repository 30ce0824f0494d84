"""Windowed GROUP BY queries planned from SQL and run as real tasks (parallelism 1, where
the key-by shuffle chains): exact results against an independent Polars computation."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping

import polars as pl
import pyarrow as pa
import pytest

from services.paths import PathPolicy
from services.planner import connectors
from services.worker.engine import TelemetryBuffer
from services.worker.engine.operators import factory
from services.worker.engine.operators.base import EXHAUSTED, Poll, SourceOperator
from services.worker.engine.row_schema import RowSchema
from tests.engine.harness import start_job
from weir.v1 import dataflow_pb2

START_MS = 1_700_000_000_000
STEP_MS = 7
BATCH_ROWS = 1000


def tick_frame(start: int, stop: int) -> pl.DataFrame:
    """Rows `start..stop-1`: event time START_MS + 7 ms per row, key i % 5, value i % 13
    (NULL every 17th row)."""
    i = pl.int_range(start, stop, dtype=pl.Int64, eager=True)
    return pl.DataFrame(
        {
            "ts": pl.from_epoch(START_MS + i * STEP_MS, time_unit="ms").cast(pl.Datetime("us")),
            "k": i % 5,
            "v": i % 13,
            "i": i,
        }
    ).select("ts", "k", pl.when(pl.col("i") % 17 == 0).then(None).otherwise(pl.col("v")).alias("v"))


class TickSource(SourceOperator):
    """A bounded test source with event times: `rows` rows of `tick_frame`, in batches of
    `BATCH_ROWS`, subtask i of P reading batches i, i + P, ..."""

    connector = "ticks"
    operator_name = "TickSource"

    @classmethod
    def validate_options(cls, options: Mapping[str, str], paths: PathPolicy | None) -> None:
        int(options["rows"])

    @classmethod
    def table_schema(cls, declared: RowSchema | None) -> RowSchema:
        assert declared is not None
        return declared

    def __init__(self, spec: dataflow_pb2.Operator, subtask_index: int, parallelism: int) -> None:
        super().__init__(spec, subtask_index, parallelism)
        self._batches = self._generate(int(spec.source.options["rows"]), subtask_index, parallelism)

    def _generate(self, rows: int, subtask_index: int, parallelism: int) -> Iterator[pa.RecordBatch]:
        for start in range(subtask_index * BATCH_ROWS, rows, parallelism * BATCH_ROWS):
            yield tick_frame(start, min(start + BATCH_ROWS, rows)).to_arrow().to_batches()[0]

    def poll(self) -> Poll:
        return next(self._batches, EXHAUSTED)


@pytest.fixture
def ticks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(factory.SOURCE_CONNECTORS, TickSource.connector, TickSource)
    monkeypatch.setattr(connectors, "CONNECTORS", connectors.CONNECTORS | {TickSource.connector})


def run(query: str, parallelism: int = 1) -> list[dict[str, object]]:
    job = start_job(query, parallelism, buffer=TelemetryBuffer(max_preview_rows=100_000))
    job.wait_ended()
    assert all(listener.kinds() == ["running", "finished"] for listener in job.listeners), [
        listener.events for listener in job.listeners
    ]
    totals = job.telemetry.drain()
    assert not totals.errors
    sink = job.dataflow.operators[-1].id
    return [json.loads(row) for row in totals.preview_rows[sink]]


def as_frame(rows: list[dict[str, object]], *timestamp_columns: str) -> pl.DataFrame:
    """Output rows as a frame, their JSON timestamps (ISO 8601) read back as datetimes."""
    parsed = [
        {k: dt.datetime.fromisoformat(v) if k in timestamp_columns else v for k, v in row.items()}  # type: ignore[arg-type]
        for row in rows
    ]
    return pl.DataFrame(parsed)


TICKS = (
    "CREATE TABLE ticks (ts TIMESTAMP, k BIGINT, v BIGINT, WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)\n"
    "WITH (connector = 'ticks', rows = '{rows}');\n"
)


@pytest.mark.usefixtures("ticks")
@pytest.mark.parametrize("parallelism", [1, 2])
def test_tumbling_window_per_key_equals_polars(parallelism: int) -> None:
    rows = 20_000
    got = run(
        TICKS.format(rows=rows)
        + "SELECT k, TUMBLE(INTERVAL '10' SECOND) AS window, count(*) AS n, sum(v) AS total,\n"
        "       count(DISTINCT v) AS kinds, avg(v) AS mean, window.start AS ws, window.end AS we\n"
        "FROM ticks WHERE v IS NULL OR v <> 3 GROUP BY k, window HAVING count(*) > 10",
        parallelism,
    )
    # Subtasks emit their windows independently: compare in one order.
    got.sort(key=lambda r: (r["ws"], r["k"]))  # type: ignore[arg-type,return-value]
    data = tick_frame(0, rows).filter(pl.col("v").is_null() | (pl.col("v") != 3))
    expected = (
        data.group_by("k", pl.col("ts").dt.truncate("10s").alias("ws"))
        .agg(
            pl.len().cast(pl.Int64).alias("n"),
            pl.col("v").sum().alias("total"),
            pl.col("v").drop_nulls().n_unique().alias("kinds"),
            pl.col("v").mean().alias("mean"),
        )
        .filter(pl.col("n") > 10)
        .with_columns((pl.col("ws") + pl.duration(seconds=10)).alias("we"))
        .sort("ws", "k")
    )
    assert len(got) == expected.height > 50
    got_frame = as_frame(got, "ws", "we").drop("window").select(expected.columns)
    assert got_frame.drop("mean").to_dicts() == expected.drop("mean").to_dicts()
    assert got_frame.get_column("mean").to_list() == pytest.approx(expected.get_column("mean").to_list())
    # The window struct holds the same bounds.
    assert [r["window"] for r in got[:2]] == [{"start": r["ws"], "end": r["we"]} for r in got[:2]]


@pytest.mark.usefixtures("ticks")
def test_session_windows_without_keys_equal_polars() -> None:
    rows = 5000
    # (k, v) = (i % 5, i % 13) picks out i % 65, so this drops rows 0, 1, 2 of every 65:
    # a 28 ms hole, more than the 20 ms gap, between sessions.
    got = run(
        TICKS.format(rows=rows)
        + "SELECT SESSION(INTERVAL '20' MILLISECOND) AS s, count(*) AS n, min(ts) AS first, max(v) AS top\n"
        "FROM ticks WHERE NOT (k = v AND k < 3) OR v IS NULL GROUP BY s"
    )
    data = (
        tick_frame(0, rows)
        .filter(~((pl.col("k") == pl.col("v")) & (pl.col("k") < 3)) | pl.col("v").is_null())
        .sort("ts")
    )
    gap = pl.duration(milliseconds=20)
    sessions = (
        data.with_columns((pl.col("ts").diff() >= gap).fill_null(True).cum_sum().alias("session"))
        .group_by("session")
        .agg(
            pl.len().cast(pl.Int64).alias("n"),
            pl.col("ts").min().alias("first"),
            pl.col("v").max().alias("top"),
        )
        .sort("first")
    )
    assert sessions.height > 1
    got_frame = as_frame(got, "first").sort("first")
    assert got_frame.select("n", "first", "top").to_dicts() == sessions.drop("session").to_dicts()


def test_processing_time_totals_per_key_equal_polars() -> None:
    n = 50_000
    got = run(
        f"CREATE TABLE impulse WITH (connector = 'impulse', event_rate = '0', message_count = '{n}');\n"
        "SELECT counter % 7 AS k, HOP(INTERVAL '1' HOUR, INTERVAL '1' DAY) AS window, count(*) AS n,\n"
        "       sum(counter * 2) AS s, window.start AS ws, window.end AS we\n"
        "FROM impulse GROUP BY 1, 2"
    )
    # Processing time puts all rows into the same 24 hourly windows (or, across an hour
    # boundary, 25): every window's rows are a subset, and the windows are epoch-aligned.
    frame = pl.DataFrame(got)
    assert set(frame.get_column("window").struct.field("start").to_list()) == set(frame.get_column("ws"))
    starts = frame.get_column("ws").str.to_datetime()
    assert (starts.dt.minute() == 0).all() and (starts.dt.second() == 0).all()
    expected = (
        pl.DataFrame({"c": pl.int_range(0, n, eager=True)})
        .group_by((pl.col("c") % 7).alias("k"))
        .agg(pl.len().cast(pl.Int64).alias("n"), (pl.col("c") * 2).sum().alias("s"))
        .sort("k")
    )
    # Some window holds every row (all rows arrived within an hour of each other).
    by_window = [part.select("k", "n", "s").sort("k").to_dicts() for part in frame.partition_by("ws")]
    assert expected.to_dicts() in by_window
    assert frame.group_by("ws").len().get_column("len").to_list() == [7] * frame.get_column("ws").n_unique()


def test_parallelism_one_runs_as_one_task() -> None:
    query = (
        "CREATE TABLE impulse WITH (connector = 'impulse', event_rate = '0', message_count = '10');\n"
        "SELECT counter % 2 AS k, count(*) FROM impulse GROUP BY TUMBLE(INTERVAL '1' MINUTE), 1"
    )
    job = start_job(query, 1)
    job.wait_ended()
    assert len(job.tasks) == 1


@pytest.mark.usefixtures("ticks")
def test_windows_over_a_view_and_from_a_subquery_keep_event_time() -> None:
    rows = 10_000
    got = run(
        TICKS.format(rows=rows)
        + "CREATE VIEW valued AS SELECT ts, k * 10 AS key, v FROM ticks WHERE v IS NOT NULL;\n"
        "SELECT key, n, window.start AS ws FROM (\n"
        "  SELECT key, TUMBLE(INTERVAL '5' SECOND) AS window, count(*) AS n FROM valued GROUP BY 1, 2\n"
        ") AS counts WHERE counts.n > 100"
    )
    expected = (
        tick_frame(0, rows)
        .filter(pl.col("v").is_not_null())
        .group_by((pl.col("k") * 10).alias("key"), pl.col("ts").dt.truncate("5s").alias("ws"))
        .agg(pl.len().cast(pl.Int64).alias("n"))
        .filter(pl.col("n") > 100)
        .select("key", "n", "ws")
        .sort("ws", "key")
    )
    assert expected.height > 10
    assert as_frame(got, "ws").sort("ws", "key").to_dicts() == expected.to_dicts()


@pytest.mark.usefixtures("ticks")
def test_union_all_of_two_tables_then_a_window() -> None:
    got = run(
        TICKS.format(rows=3000) + "CREATE TABLE more (ts TIMESTAMP, k BIGINT, v BIGINT, WATERMARK FOR ts)\n"
        "WITH (connector = 'ticks', rows = '2000');\n"
        "SELECT k, TUMBLE(INTERVAL '1' SECOND) AS window, count(*) AS n, window.start AS ws FROM (\n"
        "  SELECT ts, k FROM ticks UNION ALL SELECT ts, k + 100 FROM more\n"
        ") GROUP BY k, window",
        2,
    )
    data = pl.concat([tick_frame(0, 3000), tick_frame(0, 2000).with_columns(pl.col("k") + 100)])
    expected = (
        data.group_by("k", pl.col("ts").dt.truncate("1s").alias("ws"))
        .agg(pl.len().cast(pl.Int64).alias("n"))
        .select("k", "n", "ws")
        .sort("ws", "k")
    )
    assert as_frame(got, "ws").drop("window").sort("ws", "k").to_dicts() == expected.to_dicts()


def test_two_inserts_into_one_table_feed_its_one_sink() -> None:
    query = (
        "CREATE TABLE impulse WITH (connector = 'impulse', event_rate = '0', message_count = '1000');\n"
        "CREATE TABLE out WITH (connector = 'blackhole');\n"
        "INSERT INTO out SELECT counter % 10 AS k, count(*) AS n FROM impulse\n"
        "GROUP BY 1, TUMBLE(INTERVAL '1' DAY);\n"
        "INSERT INTO out SELECT counter AS k, counter AS n FROM impulse WHERE counter >= 500"
    )
    job = start_job(query, 2)
    job.wait_ended()
    assert all(listener.kinds() == ["running", "finished"] for listener in job.listeners)
    sinks = [op.id for op in job.dataflow.operators if op.WhichOneof("spec") == "sink"]
    assert len(sinks) == 1
    # Windows: 10 keys, in one window (or two, across midnight); filtered rows: 2 x 500.
    assert job.telemetry.drain().sum(sinks[0], "records_in") in (10 + 1000, 20 + 1000)
