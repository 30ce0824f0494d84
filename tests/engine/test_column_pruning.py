"""A source skips the columns nothing downstream reads (projection pushdown), and what the
query computes does not change."""

from __future__ import annotations

import polars as pl
import pytest

from services.paths import PathPolicy
from services.planner import plan_query
from services.worker.engine.dataflow_operators import DataflowOperators
from services.worker.engine.nexmark.generator import GeneratorConfig, NexmarkGenerator
from tests.engine.test_nexmark import _events

NEXMARK = "CREATE TABLE nexmark WITH (connector = 'nexmark', event_rate = '0', events = '1000');\n"
FILE_SINK = "CREATE TABLE out WITH (connector = 'blackhole');\nINSERT INTO out "


def _source_reads(sql: str, parallelism: int = 1) -> frozenset[str] | None:
    dataflow = plan_query(sql, parallelism, PathPolicy([]))
    [source] = [op for op in dataflow.operators if op.WhichOneof("spec") == "source"]
    return DataflowOperators(dataflow).columns_read_after(source.id)


@pytest.mark.parametrize(
    ("select", "read"),
    [
        ("SELECT bid.auction, bid.price FROM nexmark WHERE bid IS NOT NULL", {"bid"}),
        ("SELECT person.name FROM nexmark WHERE auction IS NOT NULL", {"person", "auction"}),
        # A fan-out into two chains (a join of two aggregates) reads what either side does.
        (
            "SELECT P.id FROM (SELECT person.id AS id, TUMBLE(INTERVAL '10' SECOND) AS window"
            " FROM nexmark WHERE person IS NOT NULL GROUP BY person.id, window) P JOIN"
            " (SELECT auction.seller AS seller, TUMBLE(INTERVAL '10' SECOND) AS window FROM nexmark"
            " WHERE auction IS NOT NULL GROUP BY auction.seller, window) A"
            " ON P.id = A.seller AND P.window = A.window",
            {"person", "auction"},
        ),
        ("SELECT 1 AS one FROM nexmark", set()),
        ("SELECT count(*) AS n, TUMBLE(INTERVAL '1' SECOND) AS window FROM nexmark GROUP BY window", set()),
        # A computed group key passes only what the aggregate reads.
        (
            "SELECT bid.auction AS a, max(bid.price) AS p, TUMBLE(INTERVAL '1' SECOND) AS window"
            " FROM nexmark GROUP BY bid.auction, window",
            {"bid"},
        ),
    ],
)
def test_a_source_is_told_the_columns_its_consumers_read(select: str, read: set[str]) -> None:
    assert _source_reads(NEXMARK + FILE_SINK + select, parallelism=2) == frozenset(read)


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
    read = operators.columns_read_after(shuffle.source_operator_id)
    assert read is None or set(shuffle.key_columns) <= read


def test_generating_some_columns_gives_the_same_values_as_generating_all() -> None:
    generator = NexmarkGenerator(GeneratorConfig())
    everything = _events(3_000, 5_000)
    for columns in ({"bid"}, {"person", "auction"}, {"auction"}):
        some = pl.DataFrame(generator.generate(3_000, 5_000, frozenset(columns)))
        assert some.columns == [c for c in everything.columns if c in columns]
        assert some.equals(everything.select(some.columns))
    with pytest.raises(ValueError, match="no nexmark column"):
        generator.generate(0, 10, frozenset({"colour"}))
