"""Where in the query text a parsed node came from, as a 1-based line and column.

sqlglot records the character offsets of identifier and literal tokens on the nodes it
builds; an operator or clause node has none, so its position is that of the leftmost
token inside it, which is where a reader looks for it.
"""

from __future__ import annotations

import bisect

from sqlglot import exp

from services.planner.errors import PlanError


class SqlText:
    """The query text, able to locate offsets and nodes in it."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._line_starts = [0] + [i + 1 for i, char in enumerate(text) if char == "\n"]

    def position(self, offset: int) -> tuple[int, int]:
        """(line, column) of a character offset."""
        offset = min(max(offset, 0), len(self.text))
        line = bisect.bisect_right(self._line_starts, offset)
        return line, offset - self._line_starts[line - 1] + 1

    def node_position(self, node: exp.Expression | None) -> tuple[int, int]:
        """(line, column) where `node` starts, or (0, 0) if nothing in it has a position."""
        if node is None:
            return 0, 0
        starts = [n.meta["start"] for n in node.walk() if "start" in n.meta]
        return self.position(min(starts)) if starts else (0, 0)

    def error(
        self, message: str, node: exp.Expression | None, fallback: exp.Expression | None = None
    ) -> PlanError:
        """A PlanError pointing at `node`, or at `fallback` if `node` has no position."""
        line, column = self.node_position(node)
        if not line and fallback is not None:
            line, column = self.node_position(fallback)
        return PlanError(message, line, column)
