"""Views, subqueries, UNION ALL and several INSERTs into one table: how they plan."""

from __future__ import annotations

import pytest

from services.paths import PathPolicy
from services.planner import Chain, PlanError, chain_operators, plan_query
from weir.v1 import dataflow_pb2

IMPULSE = "CREATE TABLE impulse WITH (connector = 'impulse', event_rate = '0', message_count = '10');\n"
NO_PATHS = PathPolicy([])


def plan_error(query: str) -> PlanError:
    with pytest.raises(PlanError) as raised:
        plan_query(query, 1, NO_PATHS)
    return raised.value


def test_a_view_is_planned_where_it_is_read() -> None:
    dataflow = plan_query(
        IMPULSE + "CREATE VIEW odd AS SELECT counter AS c FROM impulse WHERE counter % 2 = 1;\n"
        "SELECT c FROM odd; SELECT c + 1 AS d FROM odd AS o WHERE o.c > 3",
        1,
        NO_PATHS,
    )
    assert [op.id for op in dataflow.operators] == [
        "source_1", "filter_2", "project_3", "sink_4",
        "source_5", "filter_6", "project_7", "filter_8", "project_9", "sink_10",
    ]  # fmt: skip
    assert dataflow.operators[7].filter.predicate == "c > 3"


@pytest.mark.parametrize(
    ("query", "line", "column", "message"),
    [
        (
            IMPULSE + "CREATE VIEW v AS SELECT nope FROM impulse;\nSELECT 1 FROM impulse",
            2,
            25,
            "unknown column 'nope'",
        ),
        (IMPULSE + "CREATE VIEW impulse AS SELECT 1 FROM impulse", 2, 13, "'impulse' is already defined"),
        (
            IMPULSE + "SELECT count(*) FROM (SELECT counter, count(*) AS n FROM impulse\n"
            "GROUP BY counter, TUMBLE(INTERVAL '1' SECOND)) GROUP BY TUMBLE(INTERVAL '1' SECOND)",
            2,
            8,
            "aggregating the results of a windowed aggregate is only supported by their tumbling or hopping",
        ),
    ],
)
def test_view_and_subquery_errors(query: str, line: int, column: int, message: str) -> None:
    error = plan_error(query)
    assert message in error.message
    assert (error.line, error.column) == (line, column), error.message


def test_union_all_aligns_the_branches_and_feeds_one_union_operator() -> None:
    dataflow = plan_query(
        IMPULSE + "SELECT counter AS c FROM impulse WHERE counter < 3\n"
        "UNION ALL SELECT CAST(counter AS DOUBLE) / 2 FROM impulse\n"
        "UNION ALL (SELECT subtask_index FROM impulse)",
        2,
        NO_PATHS,
    )
    operators = {op.id: op for op in dataflow.operators}
    projects = [operators[f"project_{n}"].project.columns for n in (3, 4, 5)]
    # Names from the first branch, types widened to the common one (DOUBLE).
    assert [[(c.name, c.sql) for c in columns] for columns in projects] == [
        [("c", "CAST(counter AS DOUBLE)")],
        [("c", "CAST(counter AS DOUBLE) / 2")],
        [("c", "CAST(subtask_index AS DOUBLE)")],
    ]
    # The table is read once, by one source feeding the three branches.
    assert [op.id for op in dataflow.operators if op.WhichOneof("spec") == "source"] == ["source_1"]
    assert operators["union_6"].WhichOneof("spec") == "union"
    into_union = [e for e in dataflow.edges if e.target_operator_id == "union_6"]
    assert [(e.source_operator_id, e.kind) for e in into_union] == [
        (f"project_{n}", dataflow_pb2.Edge.KIND_FORWARD) for n in (3, 4, 5)
    ]
    assert chain_operators(dataflow)[-1] == Chain(("union_6", "sink_7"), 2)


def test_a_table_unioned_with_itself_unchanged_feeds_the_union_twice() -> None:
    dataflow = plan_query(IMPULSE + "SELECT * FROM impulse UNION ALL SELECT * FROM impulse", 1, NO_PATHS)
    into_union = [e.source_operator_id for e in dataflow.edges if e.target_operator_id == "union_3"]
    assert into_union == ["source_1", "project_2"]


def test_inserts_into_one_table_share_its_sink() -> None:
    dataflow = plan_query(
        IMPULSE + "CREATE TABLE out (n BIGINT) WITH (connector = 'blackhole');\n"
        "INSERT INTO out SELECT counter FROM impulse;\n"
        "INSERT INTO out SELECT subtask_index * 10 FROM impulse WHERE counter > 5;\n"
        "SELECT counter FROM impulse",
        1,
        NO_PATHS,
    )
    sinks = [op.id for op in dataflow.operators if op.WhichOneof("spec") == "sink"]
    assert len(sinks) == 2  # the table's, and the preview of the SELECT
    into_table = [e.source_operator_id for e in dataflow.edges if e.target_operator_id == sinks[0]]
    assert len(into_table) == 2


@pytest.mark.parametrize(
    ("query", "line", "column", "message"),
    [
        (
            IMPULSE + "SELECT counter FROM impulse UNION ALL SELECT counter, subtask_index FROM impulse",
            2,
            46,
            "each side of UNION ALL must produce the same number of columns: 1 column and 2 columns",
        ),
        (
            IMPULSE + "SELECT counter FROM impulse UNION ALL SELECT 'x' FROM impulse",
            2,
            8,
            "column 'counter' has different types on the sides of UNION ALL (BIGINT and TEXT); use CAST",
        ),
        (
            IMPULSE + "SELECT counter FROM impulse INTERSECT SELECT counter FROM impulse",
            2,
            8,
            "INTERSECT is not supported yet",
        ),
        (
            IMPULSE + "CREATE TABLE out WITH (connector = 'blackhole');\n"
            "INSERT INTO out SELECT counter FROM impulse;\n"
            "INSERT INTO out SELECT 'x' AS counter FROM impulse",
            4,
            24,
            "every INSERT INTO out must produce the same columns",
        ),
    ],
)
def test_union_and_insert_errors(query: str, line: int, column: int, message: str) -> None:
    error = plan_error(query)
    assert message in error.message
    assert (error.line, error.column) == (line, column), error.message
