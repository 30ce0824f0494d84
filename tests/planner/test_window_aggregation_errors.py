"""Windowed GROUP BY queries that cannot plan say what is wrong and where (line, column)."""

from __future__ import annotations

import pytest

from services.paths import PathPolicy
from services.planner import PlanError, plan_query

HEADER = "CREATE TABLE impulse WITH (connector = 'impulse', event_rate = '100');\n"
WINDOW = "TUMBLE(INTERVAL '1' MINUTE)"


@pytest.mark.parametrize(
    ("query", "line", "column", "message"),
    [
        (HEADER + "SELECT count(*) FROM impulse", 2, 8, "aggregation needs a time window in GROUP BY"),
        (
            HEADER + "SELECT counter, count(*) FROM impulse\nGROUP BY counter",
            3,
            10,
            "aggregation needs a time window in GROUP BY",
        ),
        (
            HEADER + f"SELECT counter, count(*) FROM impulse GROUP BY {WINDOW}",
            2,
            8,
            "column 'counter' must appear in GROUP BY or be used in an aggregate function",
        ),
        (
            HEADER + f"SELECT stddev(counter) FROM impulse GROUP BY {WINDOW}",
            2,
            8,
            "aggregate function STDDEV is not supported yet",
        ),
        (
            HEADER + f"SELECT sum(counter || 'x') FROM impulse GROUP BY {WINDOW}",
            2,
            8,
            "sum(counter || 'x') needs a numeric argument, not TEXT",
        ),
        (HEADER + f"SELECT sum(*) FROM impulse GROUP BY {WINDOW}", 2, 8, "only count(*) is"),
        (
            HEADER + f"SELECT sum(DISTINCT counter) FROM impulse GROUP BY {WINDOW}",
            2,
            8,
            "DISTINCT is only supported with count, min and max",
        ),
        (
            HEADER + f"SELECT count(count(*)) FROM impulse GROUP BY {WINDOW}",
            2,
            14,
            "aggregate functions cannot be nested",
        ),
        (
            HEADER + "SELECT count(*) FROM impulse GROUP BY HOP(INTERVAL '2' SECOND, INTERVAL '5' SECOND)",
            2,
            73,
            "width (5000 ms) must be a multiple of its slide (2000 ms)",
        ),
        (
            HEADER + "SELECT count(*) FROM impulse GROUP BY TUMBLE(INTERVAL '1' FORTNIGHT)",
            2,
            55,
            "unsupported interval",
        ),
        (HEADER + "SELECT count(*) FROM impulse GROUP BY TUMBLE(10)", 2, 46, "must be an interval literal"),
        (HEADER + "SELECT count(*) FROM impulse GROUP BY SESSION()", 2, 39, "SESSION takes 1 argument"),
        (
            HEADER + f"SELECT count(*) FROM impulse GROUP BY {WINDOW}, SESSION(INTERVAL '1' SECOND)",
            2,
            68,
            "GROUP BY can have only one window",
        ),
        (
            HEADER
            + "SELECT HOP(INTERVAL '1' SECOND, INTERVAL '2' SECOND), count(*) "
            + f"FROM impulse GROUP BY {WINDOW}",
            2,
            8,
            "a window function must also be in GROUP BY",
        ),
        (HEADER + f"SELECT count(*) FROM impulse GROUP BY {WINDOW}, 3", 2, 68, "GROUP BY position 3"),
        (
            HEADER + f"SELECT {WINDOW} AS w, w.middle FROM impulse GROUP BY w",
            2,
            42,
            "a window has fields start and end, not 'middle'",
        ),
        (
            HEADER + f"SELECT * FROM impulse GROUP BY {WINDOW}",
            2,
            8,
            "SELECT * cannot be used with GROUP BY",
        ),
        (
            HEADER + f"SELECT count(*) FROM impulse GROUP BY {WINDOW} HAVING counter > 1",
            2,
            74,
            "column 'counter' must appear in GROUP BY",
        ),
        (
            "CREATE TABLE impulse (counter BIGINT NOT NULL, subtask_index BIGINT NOT NULL,\n"
            "  WATERMARK FOR counter) WITH (connector = 'impulse', event_rate = '100');\n"
            "SELECT * FROM impulse",
            2,
            17,
            "the event time column 'counter' of table 'impulse' must be TIMESTAMP, not BIGINT",
        ),
        (
            "CREATE TABLE impulse WITH (connector = 'impulse', event_rate = '100',\n"
            "  event_time_field = 'ts');\n"
            "SELECT * FROM impulse",
            2,
            22,
            "table 'impulse' has no column 'ts' for its event time",
        ),
    ],
)
def test_errors_point_at_the_problem(query: str, line: int, column: int, message: str) -> None:
    with pytest.raises(PlanError) as raised:
        plan_query(query, 1, PathPolicy([]))
    error = raised.value
    assert message in error.message
    assert (error.line, error.column) == (line, column), error.message
