"""The one error the planner raises: what is wrong with the query, and where."""

from __future__ import annotations


class PlanError(Exception):
    """Invalid or unsupported SQL. `line` and `column` are 1-based; 0 when unknown."""

    def __init__(self, message: str, line: int = 0, column: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column

    def __str__(self) -> str:
        if self.line:
            return f"{self.message} (line {self.line}, column {self.column})"
        return self.message
