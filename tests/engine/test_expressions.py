"""The SQL-to-Polars compiler: SQL semantics on batches, types, and errors at compile time."""

from __future__ import annotations

import polars as pl
import pytest
import sqlglot

from services.worker.engine.errors import RecordError
from services.worker.engine.expressions import (
    ExpressionError,
    check_guards,
    compile_expression,
    compile_predicate,
)
from services.worker.engine.row_schema import Field, RowSchema

SCHEMA = RowSchema(
    [
        Field("a", pl.Int64(), False),
        Field("b", pl.Int64(), True),
        Field("s", pl.String(), True),
        Field("f", pl.Float64(), False),
    ]
)
FRAME = pl.DataFrame(
    {
        "a": [-7, 7, -7, 7, 0],
        "b": [2, -2, -2, None, 3],
        "s": ["x", None, "z", "w", "v"],
        "f": [0.5, 1.5, -2.5, 0.0, 4.0],
    }
)


def evaluate(sql: str) -> list[object]:
    compiled = compile_expression(sqlglot.parse_one(sql), SCHEMA)
    check_guards(FRAME, compiled.guards)
    return FRAME.with_columns(compiled.expr.alias("result"))["result"].to_list()


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("a / 2", [-3, 3, -3, 3, 0]),  # toward zero, not floor
        ("a % 2", [-1, 1, -1, 1, 0]),  # sign of the dividend
        ("a / b", [-3, -3, 3, None, 0]),
        ("a % b", [-1, 1, -1, None, 0]),
        ("a / 2.0", [-3.5, 3.5, -3.5, 3.5, 0.0]),
        ("f * 2 - 1", [0.0, 2.0, -6.0, -1.0, 7.0]),
        ("-a + 1", [8, -6, 8, -6, 1]),
        ("b IS NULL", [False, False, False, True, False]),
        ("NOT (b IS NULL)", [True, True, True, False, True]),
        ("b > 0 AND a > 0", [False, False, False, None, False]),
        ("b > 0 OR a > 0", [True, True, False, True, True]),
        ("a BETWEEN -1 AND 7", [False, True, False, True, True]),
        ("s || '!'", ["x!", None, "z!", "w!", "v!"]),
        ("a || s", ["-7x", None, "-7z", "7w", "0v"]),
        ("CAST(a AS TEXT)", ["-7", "7", "-7", "7", "0"]),
        ("TRY_CAST(s AS BIGINT)", [None] * 5),
        ("CAST(f AS BIGINT)", [0, 1, -2, 0, 4]),
        ("CASE WHEN a > 0 THEN 'pos' WHEN a < 0 THEN 'neg' END", ["neg", "pos", "neg", "pos", None]),
        ("CASE b WHEN 2 THEN 1 WHEN -2 THEN 2 ELSE 0 END", [1, 2, 2, 0, 0]),
        ("1", [1, 1, 1, 1, 1]),
        ("NULL", [None] * 5),
        ("a + NULL", [None] * 5),
    ],
)
def test_sql_semantics(sql: str, expected: list[object]) -> None:
    assert evaluate(sql) == expected


@pytest.mark.parametrize(
    ("sql", "dtype", "nullable"),
    [
        ("a + 1", pl.Int64(), False),
        ("a + b", pl.Int64(), True),
        ("a + f", pl.Float64(), False),
        ("a / 2", pl.Int64(), False),
        ("a > 1", pl.Boolean(), False),
        ("CASE WHEN a > 0 THEN 1 END", pl.Int64(), True),
        ("CASE WHEN a > 0 THEN 1 ELSE 2.5 END", pl.Float64(), False),
        ("TRY_CAST(s AS INT)", pl.Int32(), True),
        ("CAST(a AS REAL)", pl.Float32(), False),
        ("b IS NULL", pl.Boolean(), False),
    ],
)
def test_result_types_and_nullability(sql: str, dtype: pl.DataType, nullable: bool) -> None:
    compiled = compile_expression(sqlglot.parse_one(sql), SCHEMA)
    assert (compiled.dtype, compiled.nullable) == (dtype, nullable)
    # The declared type is the type Polars actually produces.
    assert FRAME.select(compiled.expr.alias("r")).schema["r"] == dtype


@pytest.mark.parametrize(
    ("sql", "message", "culprit"),
    [
        ("a + s", "operator + needs numeric operands", "a + s"),
        ("s > 1", "cannot compare TEXT > BIGINT", "s > 1"),
        ("a AND TRUE", "a is BIGINT, but AND needs BOOLEAN", "a"),
        ("nope", "unknown column 'nope' (available columns: a, b, s, f)", "nope"),
        ("t.a", "qualified column", "t.a"),
        ("CAST(s AS DECIMAL(4, 1))", "type DECIMAL(4, 1) is not supported", "DECIMAL(4, 1)"),
        ("CAST(f AS DATE)", "cannot cast DOUBLE to DATE", "CAST(f AS DATE)"),
        ("a IS TRUE", "only IS [NOT] NULL", "a IS TRUE"),
        ("lower(s)", "function LOWER is not supported yet", "LOWER(s)"),
        ("a IN (1, 2)", "unsupported expression", "a IN (1, 2)"),
    ],
)
def test_errors_name_the_culprit(sql: str, message: str, culprit: str) -> None:
    with pytest.raises(ExpressionError) as raised:
        compile_expression(sqlglot.parse_one(sql), SCHEMA)
    assert message in raised.value.message
    assert raised.value.node is not None and raised.value.node.sql() == culprit


def test_a_predicate_must_be_boolean() -> None:
    assert compile_predicate(sqlglot.parse_one("a > 0"), SCHEMA).dtype == pl.Boolean()
    assert compile_predicate(sqlglot.parse_one("NULL"), SCHEMA).nullable
    with pytest.raises(ExpressionError, match="a condition must be BOOLEAN, but a \\+ 1 is BIGINT"):
        compile_predicate(sqlglot.parse_one("a + 1"), SCHEMA)


def test_integer_division_by_zero_is_an_error_naming_the_row() -> None:
    with pytest.raises(RecordError) as raised:
        evaluate("100 / a")
    assert raised.value.message == "division by zero in 100 / a"
    assert raised.value.record == '{"a":0,"b":3,"s":"v","f":4.0}'
    with pytest.raises(RecordError):
        evaluate("100 % a")


def test_division_by_zero_is_not_an_error_where_it_is_not_evaluated() -> None:
    assert evaluate("CASE WHEN a = 0 THEN -1 ELSE 100 / a END") == [-14, 14, -14, 14, -1]
    assert evaluate("CASE a WHEN 0 THEN NULL ELSE 1 / a END") == [0, 0, 0, 0, None]
    # NULL / 0 is NULL, not an error, as in PostgreSQL.
    assert evaluate("NULL / a") == [None] * 5
    # Floating point division follows IEEE 754.
    assert evaluate("f / 0.0")[:3] == [float("inf"), float("inf"), float("-inf")]


def test_compiling_twice_gives_equal_results() -> None:
    first = compile_expression(sqlglot.parse_one("a * 2 + b"), SCHEMA)
    second = compile_expression(sqlglot.parse_one("a * 2 + b"), SCHEMA)
    assert FRAME.select(first.expr).equals(FRAME.select(second.expr))
