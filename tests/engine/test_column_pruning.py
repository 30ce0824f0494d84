"""A source skips the columns nothing downstream reads (projection pushdown), and what the
query computes does not change."""

from __future__ import annotations

import polars as pl
import pytest

from services.paths import PathPolicy
from services.planner import plan_query
from services.worker.engine.column_reads import ColumnReads
from services.worker.engine.dataflow_operators import DataflowOperators
from services.worker.engine.nexmark.generator import GeneratorConfig, NexmarkGenerator
from tests.engine.test_nexmark import _events

NEXMARK = "CREATE TABLE nexmark WITH (connector = 'nexmark', event_rate = '0', events = '1000');\n"
FILE_SINK = "CREATE TABLE out WITH (connector = 'blackhole');\nINSERT INTO out "


def _source_reads(sql: str, parallelism: int = 1) -> ColumnReads | None:
    dataflow = plan_query(sql, parallelism, PathPolicy([]))
    [source] = [op for op in dataflow.operators if op.WhichOneof("spec") == "source"]
    return DataflowOperators(dataflow).columns_read_after(source.id)


@pytest.mark.parametrize(
    ("select", "read"),
    [
        ("SELECT bid.auction, bid.price FROM nexmark WHERE bid IS NOT NULL", {"bid": {"auction", "price"}}),
        # IS NULL reads no field of a struct; a struct passed on is read whole.
        ("SELECT person.name FROM nexmark WHERE auction IS NOT NULL", {"person": {"name"}, "auction": set()}),
        ("SELECT bid FROM nexmark WHERE bid.price > 10", {"bid": None}),
        # A fan-out into two chains (a join of two aggregates) reads what either side does.
        (
            "SELECT P.id FROM (SELECT person.id AS id, TUMBLE(INTERVAL '10' SECOND) AS window"
            " FROM nexmark WHERE person IS NOT NULL GROUP BY person.id, window) P JOIN"
            " (SELECT auction.seller AS seller, TUMBLE(INTERVAL '10' SECOND) AS window FROM nexmark"
            " WHERE auction IS NOT NULL GROUP BY auction.seller, window) A"
            " ON P.id = A.seller AND P.window = A.window",
            {"person": {"id"}, "auction": {"seller"}},
        ),
        ("SELECT 1 AS one FROM nexmark", {}),
        ("SELECT count(*) AS n, TUMBLE(INTERVAL '1' SECOND) AS window FROM nexmark GROUP BY window", {}),
        # A computed group key passes only what the aggregate reads.
        (
            "SELECT bid.auction AS a, max(bid.price) AS p, TUMBLE(INTERVAL '1' SECOND) AS window"
            " FROM nexmark GROUP BY bid.auction, window",
            {"bid": {"auction", "price"}},
        ),
    ],
)
def test_a_source_is_told_the_columns_its_consumers_read(select: str, read: dict) -> None:
    expected = {name: None if fields is None else frozenset(fields) for name, fields in read.items()}
    expected["_timestamp"] = None  # the table's event time, which its watermarks follow
    assert _source_reads(NEXMARK + FILE_SINK + select, parallelism=2) == ColumnReads(expected)


def test_a_sink_reads_every_column() -> None:
    assert _source_reads(NEXMARK + FILE_SINK + "SELECT * FROM nexmark") is None


def test_a_key_by_edge_reads_its_key_columns() -> None:
    sql = (
        "CREATE TABLE numbers WITH (connector = 'impulse', event_rate = '0', message_count = '10');\n"
        + FILE_SINK
        + "SELECT subtask_index, count(*) AS n, TUMBLE(INTERVAL '1' SECOND) AS window"
        " FROM numbers GROUP BY subtask_index, window"
    )
    dataflow = plan_query(sql, 2, PathPolicy([]))
    operators = DataflowOperators(dataflow)
    [shuffle] = [edge for edge in dataflow.edges if edge.key_columns]
    read = operators.columns_read_along(shuffle)
    assert read is not None and set(shuffle.key_columns) <= read.columns


def test_generating_some_columns_gives_the_same_values_as_generating_all() -> None:
    generator = NexmarkGenerator(GeneratorConfig())
    everything = _events(3_000, 5_000)
    for columns in ({"bid": None}, {"person": None, "auction": frozenset()}, {"auction": None}):
        some = pl.DataFrame(generator.generate(3_000, 5_000, ColumnReads(columns)))
        assert some.columns == [c for c in everything.columns if c in columns]
        assert some.equals(everything.select(some.columns))
    for fields in ({"price"}, {"url", "auction"}, set()):
        bids = pl.DataFrame(generator.generate(3_000, 5_000, ColumnReads({"bid": frozenset(fields)})))
        kept = [name for name in everything.schema["bid"].to_schema() if name in fields] or ["auction"]
        assert bids.select(pl.col("bid").struct.unnest()).columns == kept
        assert bids["bid"].is_null().equals(everything["bid"].is_null())
        assert bids["bid"].struct.unnest().equals(everything["bid"].struct.unnest().select(kept))
    with pytest.raises(ValueError, match="no nexmark column"):
        generator.generate(0, 10, ColumnReads({"colour": None}))


def test_pruning_a_batch_keeps_the_fields_read_and_their_nulls() -> None:
    batch = NexmarkGenerator(GeneratorConfig()).generate(0, 2_000).slice(700, 600)
    pruned = ColumnReads({"bid": frozenset({"price"}), "person": frozenset()}).prune(batch)
    frame, whole = pl.DataFrame(pruned), pl.DataFrame(batch)
    assert frame.columns == ["person", "bid"]
    assert frame.schema["bid"] == pl.Struct({"price": pl.Int64})
    assert frame["bid"].is_null().equals(whole["bid"].is_null())
    assert frame["person"].is_null().equals(whole["person"].is_null())
    assert frame["bid"].struct.field("price").equals(whole["bid"].struct.field("price"))
    assert ColumnReads({}).prune(batch) is batch
