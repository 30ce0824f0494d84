"""Windowed GROUP BY queries plan into key-by shuffles and window aggregates, and chain
into one task at parallelism 1."""

from __future__ import annotations

import pytest
from google.protobuf import text_format

from services.paths import PathPolicy
from services.planner import Chain, chain_operators, plan_query
from tests.engine.test_window_job import ticks  # noqa: F401 (fixture)
from weir.v1 import dataflow_pb2

IMPULSE = "CREATE TABLE impulse WITH (connector = 'impulse', event_rate = '0', message_count = '10');\n"
NO_PATHS = PathPolicy([])


def test_keyed_window_with_computed_key_and_having() -> None:
    dataflow = plan_query(
        IMPULSE + "SELECT counter % 3 AS k, HOP(INTERVAL '10' SECOND, INTERVAL '1' MINUTE) AS window,\n"
        "       count(*) AS n, sum(counter) + 1 AS s, count(DISTINCT subtask_index), window.end\n"
        "FROM impulse GROUP BY 1, window HAVING count(*) > 2",
        2,
        NO_PATHS,
    )
    operators = {op.id: op for op in dataflow.operators}
    assert list(operators) == ["source_1", "project_2", "window_3", "filter_4", "project_5", "sink_6"]
    assert [c.sql for c in operators["project_2"].project.columns] == [
        "counter",
        "subtask_index",
        "counter % 3",
    ]
    assert operators["window_3"].window_aggregate == text_format.Parse(
        """
        window: WINDOW_KIND_HOP size_ms: 60000 slide_ms: 10000 key_columns: "_key_0"
        aggregates { function: FUNCTION_COUNT name: "_agg_0" }
        aggregates { function: FUNCTION_SUM argument: "counter" name: "_agg_1" }
        aggregates { function: FUNCTION_COUNT argument: "subtask_index" distinct: true name: "_agg_2" }
        window_column: "window"
        """,
        dataflow_pb2.WindowAggregateSpec(),
    )
    assert operators["filter_4"].filter.predicate == "_agg_0 > 2"
    assert [(c.name, c.sql) for c in operators["project_5"].project.columns] == [
        ("k", "_key_0"),
        ("window", '"window"'),
        ("n", "_agg_0"),
        ("s", "_agg_1 + 1"),
        ("COUNT(DISTINCT subtask_index)", "_agg_2"),
        ("end", "_window_end"),
    ]
    shuffle = dataflow_pb2.Edge(
        source_operator_id="project_2",
        target_operator_id="window_3",
        kind=dataflow_pb2.Edge.KIND_SHUFFLE,
        key_columns=["_key_0"],
    )
    assert shuffle in dataflow.edges
    assert all(op.parallelism == 2 for op in dataflow.operators)
    # At parallelism 2 the shuffle separates two chains (an exchange between them) ...
    assert chain_operators(dataflow) == [
        Chain(("source_1", "project_2"), 2),
        Chain(("window_3", "filter_4", "project_5", "sink_6"), 2),
    ]
    # ... at parallelism 1 it is a direct call: one task.
    single = plan_query(
        IMPULSE + "SELECT counter % 3 AS k, count(*) FROM impulse GROUP BY 1, TUMBLE(INTERVAL '1' SECOND)",
        1,
        NO_PATHS,
    )
    assert chain_operators(single) == [Chain(tuple(op.id for op in single.operators), 1)]


def test_a_plain_column_key_needs_no_project_and_a_global_window_one_subtask() -> None:
    keyed = plan_query(
        IMPULSE + "SELECT subtask_index, count(*) AS n FROM impulse\n"
        "GROUP BY subtask_index, SESSION(INTERVAL '1' SECOND)",
        2,
        NO_PATHS,
    )
    assert [op.id for op in keyed.operators] == ["source_1", "window_2", "project_3", "sink_4"]
    assert keyed.operators[1].window_aggregate.key_columns == ["subtask_index"]
    assert keyed.operators[1].window_aggregate.gap_ms == 1000
    assert keyed.edges[0].key_columns == ["subtask_index"]

    global_window = plan_query(
        IMPULSE + "SELECT count(*) AS n FROM impulse GROUP BY TUMBLE(INTERVAL '1' SECOND)", 2, NO_PATHS
    )
    assert [op.parallelism for op in global_window.operators] == [2, 1, 1, 1]
    assert global_window.edges[0].kind == dataflow_pb2.Edge.KIND_SHUFFLE
    assert not global_window.edges[0].key_columns


@pytest.mark.usefixtures("ticks")
@pytest.mark.parametrize(
    ("declaration", "column", "delay_ms"),
    [
        (
            "(ts TIMESTAMP, k BIGINT, v BIGINT, WATERMARK FOR ts AS ts - INTERVAL '2.5' SECOND) WITH (",
            "ts",
            2500,
        ),
        ("(ts TIMESTAMP, k BIGINT, v BIGINT, WATERMARK FOR ts) WITH (", "ts", 0),
        ("(ts TIMESTAMP, k BIGINT, v BIGINT) WITH (event_time_field = 'ts', ", "ts", 0),
        # A connector's own `_timestamp` column is the event time by default (nexmark's).
        ("(_timestamp TIMESTAMP, k BIGINT, v BIGINT) WITH (", "_timestamp", 0),
    ],
)
def test_event_time_adds_a_watermark_after_the_source(declaration: str, column: str, delay_ms: int) -> None:
    dataflow = plan_query(
        f"CREATE TABLE ticks {declaration} connector = 'ticks', rows = '10');\n"
        "SELECT k, TUMBLE(INTERVAL '1' MINUTE) AS w, max(v) FROM ticks GROUP BY k, w",
        1,
        NO_PATHS,
    )
    assert [op.id for op in dataflow.operators] == [
        "source_1",
        "watermark_2",
        "window_3",
        "project_4",
        "sink_5",
    ]
    assert dataflow.operators[1].watermark == dataflow_pb2.WatermarkSpec(
        time_column=column, delay_ms=delay_ms
    )
    assert dataflow.operators[2].window_aggregate.time_column == column
    assert dict(dataflow.operators[0].source.options) == {"rows": "10"}
