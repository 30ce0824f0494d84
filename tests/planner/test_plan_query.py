"""Valid queries plan into the expected dataflows."""

from __future__ import annotations

from google.protobuf import text_format

from services.paths import PathPolicy
from services.planner import Chain, chain_operators, plan_query
from weir.v1 import dataflow_pb2

IMPULSE = "CREATE TABLE impulse WITH (connector = 'impulse', event_rate = '2000', message_count = '10');\n"
NO_PATHS = PathPolicy([])


def expected(text: str) -> dataflow_pb2.Dataflow:
    return text_format.Parse(text, dataflow_pb2.Dataflow())


IMPULSE_SOURCE = """
  source {
    connector: "impulse"
    options { key: "event_rate" value: "2000" }
    options { key: "message_count" value: "10" }
    schema { name: "counter" type: "BIGINT" }
    schema { name: "subtask_index" type: "BIGINT" }
  }
"""


def test_filter_and_projection_to_the_preview_sink() -> None:
    dataflow = plan_query(
        IMPULSE + "SELECT counter * 2 AS doubled, subtask_index FROM impulse WHERE counter % 2 = 0",
        2,
        NO_PATHS,
    )
    assert dataflow == expected(
        f"""
        operators {{ id: "source_1" name: "ImpulseSource" kind: KIND_SOURCE parallelism: 2 {IMPULSE_SOURCE} }}
        operators {{ id: "filter_2" name: "Filter" kind: KIND_TRANSFORM parallelism: 2
                     filter {{ predicate: "counter % 2 = 0" }} }}
        operators {{ id: "project_3" name: "Project" kind: KIND_TRANSFORM parallelism: 2
                     project {{ columns {{ name: "doubled" sql: "counter * 2" }}
                                columns {{ name: "subtask_index" sql: "subtask_index" }} }} }}
        operators {{ id: "sink_4" name: "PreviewSink" kind: KIND_SINK parallelism: 2
                     sink {{ connector: "preview" }} }}
        edges {{ source_operator_id: "source_1" target_operator_id: "filter_2" kind: KIND_FORWARD }}
        edges {{ source_operator_id: "filter_2" target_operator_id: "project_3" kind: KIND_FORWARD }}
        edges {{ source_operator_id: "project_3" target_operator_id: "sink_4" kind: KIND_FORWARD }}
        """
    )
    assert chain_operators(dataflow) == [Chain(("source_1", "filter_2", "project_3", "sink_4"), 2)]


def test_select_star_needs_no_project() -> None:
    dataflow = plan_query(IMPULSE + "SELECT * FROM impulse", 1, NO_PATHS)
    assert [op.id for op in dataflow.operators] == ["source_1", "sink_2"]
    assert [(e.source_operator_id, e.target_operator_id) for e in dataflow.edges] == [("source_1", "sink_2")]


def test_selecting_all_columns_in_order_needs_no_project_but_renaming_does() -> None:
    same = plan_query(IMPULSE + "SELECT counter, subtask_index FROM impulse WHERE counter > 3", 1, NO_PATHS)
    assert [op.name for op in same.operators] == ["ImpulseSource", "Filter", "PreviewSink"]
    renamed = plan_query(IMPULSE + "SELECT counter AS c, subtask_index FROM impulse", 1, NO_PATHS)
    assert [op.name for op in renamed.operators] == ["ImpulseSource", "Project", "PreviewSink"]


def test_expressions_are_normalized_sql_and_unaliased_ones_are_named_by_their_text() -> None:
    dataflow = plan_query(
        IMPULSE + 'select  i.COUNTER*2, "counter"+1 as "Next", cast(counter as double)/3 from IMPULSE i '
        "where not (i.counter is null) and counter between 1 and 5",
        1,
        NO_PATHS,
    )
    assert dataflow.operators[1].filter.predicate == "NOT (counter IS NULL) AND counter BETWEEN 1 AND 5"
    assert [(c.name, c.sql) for c in dataflow.operators[2].project.columns] == [
        ("counter * 2", "counter * 2"),
        ("Next", "counter + 1"),
        ("CAST(counter AS DOUBLE) / 3", "CAST(counter AS DOUBLE) / 3"),
    ]


def test_supported_expressions_plan() -> None:
    dataflow = plan_query(
        IMPULSE + "SELECT -counter AS neg, counter / 3 AS q, counter % 3 AS r, counter - 1.5 AS f, "
        "counter >= 2 OR counter <> 7 AS cmp, TRY_CAST('12' AS BIGINT) AS t, 'n' || counter AS s, "
        "CASE counter WHEN 1 THEN 'one' ELSE 'many' END AS word, NULL AS nothing, TRUE AS yes FROM impulse",
        1,
        NO_PATHS,
    )
    assert [c.name for c in dataflow.operators[1].project.columns] == [
        "neg", "q", "r", "f", "cmp", "t", "s", "word", "nothing", "yes",
    ]  # fmt: skip


def test_insert_into_a_blackhole_names_columns_after_the_table_and_casts_numbers() -> None:
    dataflow = plan_query(
        IMPULSE + "CREATE TABLE out (a BIGINT, b DOUBLE) WITH (connector = 'blackhole');\n"
        "INSERT INTO out SELECT counter, counter + 1 FROM impulse",
        1,
        NO_PATHS,
    )
    assert [op.id for op in dataflow.operators] == ["source_1", "project_2", "sink_3"]
    assert [(c.name, c.sql) for c in dataflow.operators[1].project.columns] == [
        ("a", "counter"),
        ("b", "CAST(counter + 1 AS DOUBLE)"),
    ]
    assert dataflow.operators[2].name == "BlackholeSink"
    assert dataflow.operators[2].sink == dataflow_pb2.SinkSpec(connector="blackhole")


def test_insert_into_a_table_without_declared_columns_keeps_the_query_names() -> None:
    dataflow = plan_query(
        IMPULSE + "CREATE TABLE out WITH (connector = 'blackhole');\nINSERT INTO out SELECT * FROM impulse",
        1,
        NO_PATHS,
    )
    assert [op.id for op in dataflow.operators] == ["source_1", "sink_2"]


def test_several_queries_make_separate_pipelines_with_increasing_ids() -> None:
    dataflow = plan_query(
        IMPULSE + "CREATE TABLE out WITH (connector = 'blackhole');\n"
        "INSERT INTO out SELECT counter FROM impulse WHERE counter > 1;\nSELECT * FROM impulse;",
        4,
        NO_PATHS,
    )
    assert [op.id for op in dataflow.operators] == [
        "source_1",
        "filter_2",
        "project_3",
        "sink_4",
        "source_5",
        "sink_6",
    ]
    assert [(c.operator_ids, c.parallelism) for c in chain_operators(dataflow)] == [
        (("source_1", "filter_2", "project_3", "sink_4"), 4),
        (("source_5", "sink_6"), 4),
    ]


def test_options_accept_numbers_and_quoted_keys_and_any_case_connector() -> None:
    dataflow = plan_query(
        "CREATE TABLE t WITH ('connector' = 'IMPULSE', EVENT_RATE = 0.5);\nSELECT * FROM t", 1, NO_PATHS
    )
    assert dataflow.operators[0].source.connector == "impulse"
    assert dict(dataflow.operators[0].source.options) == {"event_rate": "0.5"}


def test_declaring_the_impulse_columns_is_allowed() -> None:
    dataflow = plan_query(
        "CREATE TABLE t (counter BIGINT NOT NULL, subtask_index BIGINT NOT NULL) "
        "WITH (connector = 'impulse', event_rate = '1');\nSELECT * FROM t",
        1,
        NO_PATHS,
    )
    assert [c.name for c in dataflow.operators[0].source.schema] == ["counter", "subtask_index"]


def test_quoted_names_keep_their_case() -> None:
    dataflow = plan_query(
        "CREATE TABLE \"Ticks\" WITH (connector = 'impulse', event_rate = '1');\n"
        'SELECT counter AS "Counter", counter AS "select" FROM "Ticks"',
        1,
        NO_PATHS,
    )
    assert [c.name for c in dataflow.operators[1].project.columns] == ["Counter", "select"]
