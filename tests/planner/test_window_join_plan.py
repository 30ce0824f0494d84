"""Window joins: how they plan (both sides shuffled by their keys into one join operator,
the left side marked) and what is refused, with the place in the query (line, column)."""

from __future__ import annotations

import pytest

from services.paths import PathPolicy
from services.planner import PlanError, chain_operators, plan_query
from weir.v1 import dataflow_pb2

NO_PATHS = PathPolicy([])
TABLES = (
    "CREATE TABLE impulse WITH (connector = 'impulse', event_rate = '0', message_count = '10');\n"
    "CREATE TABLE events (ts TIMESTAMP, k BIGINT, v INT, WATERMARK FOR ts)\n"
    "WITH (connector = 'single_file', path = '/data/in.json', type = 'source', format = 'json');\n"
)
COUNTS = (
    "(SELECT counter % 7 AS k, count(*) AS n, TUMBLE(INTERVAL '10' SECOND) AS window\n"
    " FROM impulse GROUP BY 1, window)"
)
MAXIMA = (
    "(SELECT counter % 7 AS k, max(counter) AS top, TUMBLE(INTERVAL '10' SECOND) AS window\n"
    " FROM impulse GROUP BY 1, window)"
)


def plan(query: str, parallelism: int = 2) -> dataflow_pb2.Dataflow:
    return plan_query(TABLES + query, parallelism, PathPolicy(["/data"]))


def test_a_keyed_window_join_shuffles_both_sides_by_their_keys() -> None:
    dataflow = plan(
        f"SELECT A.k, A.n + B.top AS total, B.window.end AS we, A.window.start\n"
        f"FROM {COUNTS} A JOIN {MAXIMA} AS B\nON A.k = B.k AND A.window = B.window WHERE A.n > 1"
    )
    operators = {op.id: op for op in dataflow.operators}
    (join,) = [op for op in dataflow.operators if op.WhichOneof("spec") == "window_join"]
    assert join.name == "WindowJoin" and join.parallelism == 2
    spec = join.window_join
    assert (list(spec.left_keys), list(spec.right_keys)) == (["k"], ["k"])
    assert (spec.left_qualifier, spec.right_qualifier) == ("a", "b")
    assert (spec.left_window_column, spec.right_window_column) == ("window", "window")
    assert [c.name for c in spec.left_schema] == ["k", "n", "window", "__join_left"]
    assert [c.name for c in spec.right_schema] == ["k", "top", "window"]
    into_join = [e for e in dataflow.edges if e.target_operator_id == join.id]
    # By key and window: a key alone may be skewed.
    assert [(e.kind, list(e.key_columns)) for e in into_join] == [
        (dataflow_pb2.Edge.KIND_SHUFFLE, ["k", "window"])
    ] * 2
    marker = operators[into_join[0].source_operator_id]
    assert [c.sql for c in marker.project.columns][-1] == "TRUE"
    # After the join: WHERE, then the select list over the qualified columns.
    (after,) = [e.target_operator_id for e in dataflow.edges if e.source_operator_id == join.id]
    assert operators[after].filter.predicate == '"a.n" > 1'
    (project,) = [e.target_operator_id for e in dataflow.edges if e.source_operator_id == after]
    assert [(c.name, c.sql) for c in operators[project].project.columns] == [
        ("k", '"a.k"'),
        ("total", '"a.n" + "b.top"'),
        ("we", '"b.window"."end"'),
        ("start", '"a.window".start'),
    ]
    # Both sides read the one table: one source feeds them.
    assert sum(op.WhichOneof("spec") == "source" for op in dataflow.operators) == 1
    # The join has two inputs, so it starts a chain of its own.
    assert any(chain.operator_ids[0] == join.id for chain in chain_operators(dataflow))


def test_a_join_on_the_window_alone_runs_on_one_subtask() -> None:
    dataflow = plan(
        f"SELECT A.k, B.best FROM {COUNTS} A JOIN (SELECT max(counter) AS best, "
        "TUMBLE(INTERVAL '10' SECOND) AS w FROM impulse GROUP BY w) B ON B.w = A.window"
    )
    (join,) = [op for op in dataflow.operators if op.WhichOneof("spec") == "window_join"]
    assert join.parallelism == 1 and not join.window_join.left_keys
    assert join.window_join.right_window_column == "w"


def test_a_join_can_read_views_and_feed_another_join() -> None:
    dataflow = plan(
        f"CREATE VIEW counts AS SELECT * FROM {COUNTS};\n"
        f"CREATE VIEW maxima AS SELECT * FROM {MAXIMA};\n"
        "SELECT J.k, J.n, C.n AS again FROM (SELECT A.k, A.n, A.window FROM counts A JOIN maxima B\n"
        "  ON A.k = B.k AND A.window = B.window) J JOIN counts C ON J.k = C.k AND J.window = C.window"
    )
    assert sum(op.WhichOneof("spec") == "window_join" for op in dataflow.operators) == 2


def test_windowed_results_aggregate_again_by_their_window() -> None:
    """Nexmark q5's shape: the largest count of each window, joined with the counts."""
    dataflow = plan(
        f"SELECT C.k, C.n FROM {COUNTS} C\n"
        f"JOIN (SELECT max(n) AS top, window FROM {COUNTS} GROUP BY window) M\n"
        "ON C.window = M.window AND C.n = M.top"
    )
    windows = [op for op in dataflow.operators if op.WhichOneof("spec") == "window_aggregate"]
    # The counts subquery, read by both sides, is computed once.
    assert len(windows) == 2
    again = windows[-1]
    assert again.parallelism == 1
    assert again.window_aggregate.window == dataflow_pb2.WindowAggregateSpec.WINDOW_KIND_INPUT
    assert again.window_aggregate.input_window_column == "window"
    assert again.window_aggregate.size_ms == 10_000
    assert again.window_aggregate.window_column == "window"
    (join,) = [op for op in dataflow.operators if op.WhichOneof("spec") == "window_join"]
    assert list(join.window_join.left_keys) == ["n"] and list(join.window_join.right_keys) == ["top"]


@pytest.mark.parametrize(
    ("query", "line", "column", "message"),
    [
        (
            f"SELECT A.k FROM {COUNTS} A JOIN impulse B ON A.k = B.counter AND A.window = B.window",
            5,
            42,
            "only window joins are supported: each side must be a windowed aggregate",
        ),
        (
            f"SELECT A.k FROM {COUNTS} A JOIN (SELECT counter % 7 AS k, HOP(INTERVAL '5' SECOND,\n"
            " INTERVAL '10' SECOND) AS window FROM impulse GROUP BY 1, window) B\n"
            "ON A.k = B.k AND A.window = B.window",
            7,
            4,
            "the same window on both sides, not TUMBLE(10000 ms) and HOP(5000 ms, 10000 ms)",
        ),
        (
            f"SELECT A.k FROM {COUNTS} A JOIN {MAXIMA} B ON A.n >= B.top AND A.window = B.window",
            6,
            40,
            "equalities of a column of each side (A.x = B.y) joined by AND, not A.n >= B.top",
        ),
        (
            f"SELECT A.k FROM {COUNTS} A JOIN {MAXIMA} B ON A.k = B.k",
            6,
            40,
            "a window join needs its windows equal in ON: a.window = b.window",
        ),
        (
            f"SELECT A.k FROM {COUNTS} A LEFT JOIN {MAXIMA} B ON A.k = B.k AND A.window = B.window",
            5,
            55,
            "LEFT joins are not supported",
        ),
        (f"SELECT A.k FROM {COUNTS} A JOIN {MAXIMA} B USING (k)", 5, 50, "only JOIN ... ON is supported"),
        (
            f"SELECT k FROM {COUNTS} A JOIN {MAXIMA} B ON A.k = B.k AND A.window = B.window",
            4,
            8,
            "column 'k' is ambiguous: both sides of the join have it; write a.k or b.k",
        ),
        (
            f"SELECT A.k FROM {COUNTS} A JOIN (SELECT CAST(counter AS INT) AS v,\n"
            " TUMBLE(INTERVAL '10' SECOND) AS window FROM impulse GROUP BY 1, window) B\n"
            "ON A.k = B.v AND A.window = B.window",
            7,
            4,
            "join keys a.k (BIGINT) and b.v (INT) have different types; use CAST",
        ),
        (
            f"SELECT A.k FROM {COUNTS} A JOIN (SELECT k, TUMBLE(INTERVAL '10' SECOND) AS window\n"
            " FROM events GROUP BY k, window) B ON A.k = B.k AND A.window = B.window",
            6,
            39,
            "a window join needs both sides in event time or both in processing time",
        ),
        (
            f"SELECT A.k FROM {COUNTS} A JOIN {MAXIMA} A ON A.k = A.k AND A.window = A.window",
            6,
            35,
            "both sides of the join are named 'a'",
        ),
        (
            f"SELECT A.k FROM {COUNTS} A JOIN {MAXIMA} B ON A.k = B.k AND A.window = B.window\n"
            f"JOIN {MAXIMA} C ON A.k = C.k AND A.window = C.window",
            7,
            14,
            "a query can join two inputs; nest subqueries to join more",
        ),
        (
            f"SELECT count(*) FROM {COUNTS} A JOIN {MAXIMA} B ON A.k = B.k AND A.window = B.window\n"
            "GROUP BY TUMBLE(INTERVAL '1' MINUTE)",
            7,
            10,
            "aggregated again by their own window: GROUP BY a.window, not a new window",
        ),
        (
            f"SELECT max(n) FROM {COUNTS} C GROUP BY k",
            5,
            46,
            "aggregating the results of a windowed aggregate needs GROUP BY their window column 'window'",
        ),
        (
            "SELECT max(n), w FROM (SELECT count(*) AS n, SESSION(INTERVAL '1' SECOND) AS w FROM impulse\n"
            "GROUP BY w) GROUP BY w",
            4,
            8,
            "aggregating the results of a windowed aggregate is only supported by their tumbling or hopping",
        ),
    ],
)
def test_unsupported_joins_are_refused_where_they_are(
    query: str, line: int, column: int, message: str
) -> None:
    with pytest.raises(PlanError) as raised:
        plan(query)
    assert message in raised.value.message
    assert (raised.value.line, raised.value.column) == (line, column)
