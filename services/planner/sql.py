"""Reading the query text into statements, with syntax errors located in the text."""

from __future__ import annotations

import re

import sqlglot
from sqlglot import exp

from services.planner.errors import PlanError
from services.planner.positions import SqlText
from services.worker.engine.sql_dialect import SQL_DIALECT

# sqlglot quotes whole token objects in some messages; show just their text.
_TOKEN_REPR = re.compile(
    r"<Token token_type: [\w.]+, text: (.*?), line: \d+, col: \d+, start: \d+, end: \d+, comments: \[.*?\]>"
)
# "Required keyword: 'this' missing for <class '...Where'>": a clause left unfinished.
_MISSING_PART = re.compile(r"Required keyword: '\w+' missing for <class '[\w.]*?(\w+)'>")
# Tokenizer errors name the line and the offset where the bad token starts.
_TOKEN_ERROR_AT = re.compile(r"from (\d+):(\d+)$")


def parse_statements(text: SqlText) -> list[exp.Expression]:
    """The statements of the query, in order; raise PlanError on a syntax error."""
    try:
        statements = sqlglot.parse(text.text, dialect=SQL_DIALECT)
    except sqlglot.errors.ParseError as error:
        raise _syntax_error(error, text) from None
    except sqlglot.errors.TokenError as error:
        raise _token_error(error, text) from None
    except RecursionError:
        raise PlanError("the query is too deeply nested") from None
    return [statement for statement in statements if statement is not None]


def _syntax_error(error: sqlglot.errors.ParseError, text: SqlText) -> PlanError:
    if not error.errors:
        return PlanError(f"syntax error: {error}")
    first = error.errors[0]
    description = str(first.get("description") or "invalid syntax")
    description = _TOKEN_REPR.sub(lambda m: repr(m.group(1)), description)
    description = _MISSING_PART.sub(lambda m: f"incomplete {m.group(1).upper()}", description)
    highlight = str(first.get("highlight") or "")
    line = int(first.get("line") or 0)
    column = int(first.get("col") or 0)
    # sqlglot reports the column of the token's last character; point at its first.
    if highlight and "\n" not in highlight and column >= len(highlight):
        column = column - len(highlight) + 1
    near = f" near {highlight!r}" if highlight else ""
    return PlanError(f"syntax error{near}: {description}", line, column)


def _token_error(error: sqlglot.errors.TokenError, text: SqlText) -> PlanError:
    cause = str(error.__cause__ or "")
    match = _TOKEN_ERROR_AT.search(cause)
    if match:
        line, column = text.position(int(match.group(2)))
        problem = cause[: match.start()].strip()
        if problem.startswith("Missing "):
            problem = f"unterminated string or quoted name: missing closing {problem[len('Missing ') :]}"
        return PlanError(f"syntax error: {problem or 'invalid token'}", line, column)
    return PlanError(f"syntax error: {cause or error}")
