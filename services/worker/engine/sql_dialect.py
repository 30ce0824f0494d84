"""The sqlglot dialect of Weir SQL.

sqlglot's own (base) dialect is used both to read the user's query and to write
expressions into the plan, because it keeps every construct Weir supports distinct when
written back (the PostgreSQL dialect, for instance, writes `TRY_CAST` as `CAST` and so
loses it). Weir's dialect differs from it only where Arroyo's SQL does:
- `window` and `session` are ordinary names, because Arroyo queries name the window
  column `window` (`TUMBLE(INTERVAL '1' MINUTE) AS window ... GROUP BY window`) and call
  `SESSION(INTERVAL ...)`; the named-window clause (`WINDOW w AS (...)`) is not supported.
- `WATERMARK FOR ts [AS ts - INTERVAL '...']` may appear among the columns of
  CREATE TABLE (parsed as sqlglot's `WatermarkColumnConstraint`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from sqlglot import exp, parser, tokens
from sqlglot.dialects.dialect import Dialect
from sqlglot.tokens import TokenType


class Weir(Dialect):
    class Tokenizer(tokens.Tokenizer):
        KEYWORDS: ClassVar[dict[str, TokenType]] = {
            k: v for k, v in tokens.Tokenizer.KEYWORDS.items() if k not in ("WINDOW", "SESSION")
        }

    class Parser(parser.Parser):
        CONSTRAINT_PARSERS: ClassVar[dict[str, Callable[..., exp.Expression | None]]] = {
            **parser.Parser.CONSTRAINT_PARSERS,
            "WATERMARK": lambda self: self.expression(
                exp.WatermarkColumnConstraint(
                    this=self._match(TokenType.FOR) and self._parse_column(),
                    expression=self._match(TokenType.ALIAS) and self._parse_disjunction(),
                )
            ),
        }
        SCHEMA_UNNAMED_CONSTRAINTS: ClassVar[set[str]] = {
            *parser.Parser.SCHEMA_UNNAMED_CONSTRAINTS,
            "WATERMARK",
        }


SQL_DIALECT = Weir
