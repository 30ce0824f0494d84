"""Invalid or unsupported SQL raises PlanError saying what and where (1-based line, column)."""

from __future__ import annotations

import pytest

from services.paths import PathPolicy
from services.planner import PlanError, plan_query

HEADER = "CREATE TABLE impulse WITH (connector = 'impulse', event_rate = '100');\n"


def plan_error(query: str, parallelism: int = 1) -> PlanError:
    with pytest.raises(PlanError) as raised:
        plan_query(query, parallelism, PathPolicy([]))
    return raised.value


@pytest.mark.parametrize(
    ("query", "line", "column", "message"),
    [
        # Syntax
        (HEADER + "SELECT counter FROM impulse WHERE", 2, 29, "syntax error near 'WHERE': incomplete WHERE"),
        (HEADER + "SELECT 'abc FROM impulse", 2, 8, "syntax error: unterminated string"),
        (HEADER + "SELECT counter counter2 counter3 FROM impulse", 2, 25, "syntax error near 'counter3'"),
        # Names
        (HEADER + "SELECT counter FROM nope", 2, 21, "unknown table 'nope' (tables: impulse)"),
        (
            HEADER + "SELECT countr FROM impulse",
            2,
            8,
            "unknown column 'countr' (available columns: counter, subtask_index)",
        ),
        (HEADER + "SELECT counter FROM impulse\nWHERE subtask > 1", 3, 7, "unknown column 'subtask'"),
        (HEADER + "SELECT x.counter FROM impulse", 2, 8, "unknown table 'x' in x.counter"),
        (
            HEADER + "SELECT impulse.counter FROM impulse AS i",
            2,
            8,
            "unknown table 'impulse' in impulse.counter",
        ),
        (HEADER + "SELECT counter, counter FROM impulse", 2, 17, "two columns named 'counter'"),
        (
            HEADER + "CREATE TABLE Impulse WITH (connector = 'blackhole');\nSELECT 1",
            2,
            14,
            "table 'impulse' is already defined",
        ),
        # Connectors and options
        (
            "CREATE TABLE t WITH (connector = 'kafka');\nSELECT * FROM t",
            1,
            34,
            "unknown connector 'kafka' (known connectors: blackhole, filesystem, impulse, nexmark, preview, "
            "single_file)",
        ),
        ("CREATE TABLE t WITH (event_rate = '1');\nSELECT * FROM t", 1, 14, "table 't' has no connector"),
        ("CREATE TABLE t WITH (connector = 'impulse');\nSELECT * FROM t", 1, 34, "needs option event_rate"),
        (
            "CREATE TABLE t WITH (connector = 'impulse', event_rate = 'fast');\nSELECT * FROM t",
            1,
            58,
            "event_rate must be a number of events per second >= 0, not 'fast'",
        ),
        (
            "CREATE TABLE t WITH (connector = 'impulse', event_rate = '-1');\nSELECT * FROM t",
            1,
            58,
            "event_rate must be",
        ),
        (
            "CREATE TABLE t WITH (connector = 'impulse', event_rate = '1', message_count = '1.5');\n"
            "SELECT * FROM t",
            1,
            79,
            "message_count must be a whole number >= 0, not '1.5'",
        ),
        (
            "CREATE TABLE t WITH (connector = 'impulse', event_rate = '1', rate = '2');\nSELECT * FROM t",
            1,
            70,
            "unknown option 'rate' for connector 'impulse'",
        ),
        (
            "CREATE TABLE t WITH (connector = 'impulse', event_rate = '1', event_rate = '2');\n"
            "SELECT * FROM t",
            1,
            76,
            "option 'event_rate' is given twice",
        ),
        (
            "CREATE TABLE t (a BIGINT) WITH (connector = 'impulse', event_rate = '1');\nSELECT * FROM t",
            1,
            45,
            "impulse tables have the fixed columns",
        ),
        (
            HEADER + "CREATE TABLE o WITH (connector = 'blackhole', path = '/tmp');\nSELECT 1",
            2,
            54,
            "unknown option 'path' for connector 'blackhole'",
        ),
        (
            HEADER + "CREATE TABLE o (a DECIMAL(10, 2)) WITH (connector = 'blackhole');\nSELECT 1",
            2,
            17,
            "type DECIMAL(10, 2) is not supported",
        ),
        (
            HEADER + "CREATE TABLE o WITH (connector = 'blackhole');\nSELECT * FROM o",
            3,
            15,
            "table 'o' (connector 'blackhole') cannot be read",
        ),
        (
            HEADER + "INSERT INTO impulse SELECT * FROM impulse",
            2,
            13,
            "table 'impulse' (connector 'impulse') cannot be written to",
        ),
        # Types
        (
            HEADER + "SELECT counter + 'a' FROM impulse",
            2,
            8,
            "operator + needs numeric operands, but counter + 'a' has BIGINT + TEXT",
        ),
        (
            HEADER + "SELECT counter FROM impulse WHERE counter",
            2,
            35,
            "a condition must be BOOLEAN, but counter is BIGINT",
        ),
        (HEADER + "SELECT counter FROM impulse WHERE counter = 'x'", 2, 35, "cannot compare BIGINT = TEXT"),
        (
            HEADER + "SELECT CASE WHEN counter > 1 THEN 1 ELSE 'x' END FROM impulse",
            2,
            18,
            "CASE results have incompatible types",
        ),
        (HEADER + "SELECT counter > 9223372036854775808 FROM impulse", 2, 18, "out of the BIGINT range"),
        (
            HEADER
            + "CREATE TABLE o (a BIGINT) WITH (connector = 'blackhole');\n"
            + "INSERT INTO o SELECT counter, subtask_index FROM impulse",
            3,
            22,
            "table 'o' has 1 column but the query produces 2 columns",
        ),
        (
            HEADER
            + "CREATE TABLE o (a TEXT) WITH (connector = 'blackhole');\n"
            + "INSERT INTO o SELECT counter FROM impulse",
            3,
            22,
            "column 'a' of table 'o' is TEXT, but the query produces BIGINT for it; use CAST",
        ),
        # Unsupported constructs
        (HEADER + "SELECT counter FROM impulse GROUP BY counter", 2, 38, "aggregation needs a time window"),
        (HEADER + "SELECT counter FROM impulse ORDER BY counter", 2, 38, "ORDER BY is not supported yet"),
        (HEADER + "SELECT counter FROM impulse LIMIT 10", 2, 35, "LIMIT is not supported yet"),
        (HEADER + "SELECT DISTINCT counter FROM impulse", 2, 17, "DISTINCT is not supported yet"),
        (
            HEADER + "SELECT a.counter FROM impulse a JOIN impulse b ON a.counter = b.counter",
            2,
            23,
            "only window joins are supported",
        ),
        (
            HEADER + "SELECT counter FROM impulse WHERE counter = (SELECT 1)",
            2,
            53,
            "subqueries are not supported yet",
        ),
        (HEADER + "SELECT upper(counter) FROM impulse", 2, 8, "function UPPER is not supported yet"),
        (HEADER + "SELECT frobnicate(counter) FROM impulse", 2, 8, "unknown function FROBNICATE"),
        (
            HEADER + "SELECT counter FROM impulse UNION SELECT counter FROM impulse",
            2,
            8,
            "UNION without ALL (removing duplicates) is not supported yet",
        ),
        (HEADER + "DROP TABLE impulse", 2, 12, "unsupported statement DROP"),
        (HEADER + "SELECT 1", 2, 8, "SELECT needs a FROM clause"),
        (HEADER.rstrip(), 1, 14, "the query declares tables but reads none"),
    ],
)
def test_errors_point_at_the_problem(query: str, line: int, column: int, message: str) -> None:
    error = plan_error(query)
    assert message in error.message
    assert (error.line, error.column) == (line, column), error.message


@pytest.mark.parametrize("query", ["", "  ", " ;; ", "-- nothing\n"])
def test_an_empty_query_is_an_error_without_position(query: str) -> None:
    error = plan_error(query)
    assert error.message == "the query is empty"
    assert (error.line, error.column) == (0, 0)


def test_parallelism_must_be_positive() -> None:
    assert (
        "parallelism must be at least 1"
        in plan_error(HEADER + "SELECT * FROM impulse", parallelism=0).message
    )


def test_str_includes_the_position() -> None:
    assert str(plan_error(HEADER + "SELECT nope FROM impulse")) == (
        "unknown column 'nope' (available columns: counter, subtask_index) (line 2, column 8)"
    )
    assert str(PlanError("no position")) == "no position"
