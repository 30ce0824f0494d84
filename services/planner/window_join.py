"""What a window join may look like, and how its columns are named (Arroyo's dialect).

    SELECT A.auction, A.num, B.maxn
    FROM (SELECT ..., TUMBLE(INTERVAL '10' SECOND) AS window ... GROUP BY ...) A
    JOIN (SELECT ..., TUMBLE(INTERVAL '10' SECOND) AS window ... GROUP BY ...) B
      ON A.auction = B.auction AND A.window = B.window

Both sides must be windowed aggregates (subqueries or views) that select their window
column, with the same tumbling or hopping window, both in event time or both in
processing time; ON must equate the two window columns and may equate columns of the
two sides (the join keys), joined by AND. Anything else is refused with the reason.

Over the join, a column is `A.x` (or `x` when only one side has it; `A.window.start` for
a window's bound); the join's output columns are named `a.x` after the side's qualifier,
which is what references are rewritten to.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from services.planner.positions import SqlText
from services.worker.engine.expressions import column_name
from services.worker.engine.row_schema import RowSchema
from services.worker.engine.sql_dialect import SQL_DIALECT
from services.worker.engine.sql_types import sql_type_name
from weir.v1 import dataflow_pb2

WindowKind = dataflow_pb2.WindowAggregateSpec.WindowKind

# The constant column the planner adds to the left input only: how the join operator tells
# its two inputs apart in the one stream its task merges them into.
LEFT_MARKER = "__join_left"


@dataclass(frozen=True)
class WindowShape:
    """The window a windowed relation's rows belong to, and the column holding it."""

    kind: WindowKind.ValueType
    size_ms: int
    slide_ms: int
    gap_ms: int
    event_time: bool
    column: str

    @classmethod
    def of(cls, spec: dataflow_pb2.WindowAggregateSpec) -> WindowShape | None:
        """The shape of a window aggregate's output, if it selects its window column."""
        if not spec.window_column:
            return None
        return cls(
            spec.window, spec.size_ms, spec.slide_ms, spec.gap_ms, bool(spec.time_column), spec.window_column
        )

    def same_windows(self, other: WindowShape) -> bool:
        return (self.kind, self.size_ms, self.slide_ms, self.gap_ms) == (
            other.kind,
            other.size_ms,
            other.slide_ms,
            other.gap_ms,
        )

    def describe(self) -> str:
        if self.kind == WindowKind.WINDOW_KIND_TUMBLE:
            return f"TUMBLE({self.size_ms} ms)"
        if self.kind == WindowKind.WINDOW_KIND_HOP:
            return f"HOP({self.slide_ms} ms, {self.size_ms} ms)"
        return f"SESSION({self.gap_ms} ms)"


@dataclass(frozen=True)
class JoinSide:
    """One input of a join: how it is referred to, its columns and its window."""

    qualifier: str
    schema: RowSchema
    window: WindowShape

    def output_name(self, name: str) -> str:
        return f"{self.qualifier}.{name}"


@dataclass(frozen=True)
class JoinCondition:
    """The join keys, pairwise (left column, right column)."""

    left_keys: list[str]
    right_keys: list[str]


def join_condition(on: exp.Expression, left: JoinSide, right: JoinSide, text: SqlText) -> JoinCondition:
    """The keys of `ON a = b AND ...`, checked: equalities of a left and a right column,
    one of them of the two window columns."""
    conjuncts = list(on.flatten()) if isinstance(on, exp.And) else [on]
    left_keys: list[str] = []
    right_keys: list[str] = []
    windows_equal = False
    for conjunct in conjuncts:
        if isinstance(conjunct, exp.Paren):
            conjunct = conjunct.unnest()
        if not (
            isinstance(conjunct, exp.EQ)
            and isinstance(conjunct.this, exp.Column)
            and isinstance(conjunct.expression, exp.Column)
        ):
            raise text.error(
                "a window join's ON supports only equalities of a column of each side "
                f"(A.x = B.y) joined by AND, not {conjunct.sql(dialect=SQL_DIALECT)}",
                conjunct,
            )
        first = _side_column(conjunct.this, left, right, text)
        second = _side_column(conjunct.expression, left, right, text)
        if first[0] is second[0]:
            raise text.error(
                "each equality in a window join's ON must compare a column of each side", conjunct
            )
        (_, left_name), (_, right_name) = (first, second) if first[0] is left else (second, first)
        is_window = (left_name == left.window.column, right_name == right.window.column)
        if all(is_window):
            windows_equal = True
            continue
        if any(is_window):
            raise text.error("a window column can only be equated with the other side's window", conjunct)
        left_field, right_field = left.schema.get(left_name), right.schema.get(right_name)
        assert left_field is not None and right_field is not None
        if left_field.dtype != right_field.dtype:
            raise text.error(
                f"join keys {left.output_name(left_name)} ({sql_type_name(left_field.dtype)}) and "
                f"{right.output_name(right_name)} ({sql_type_name(right_field.dtype)}) have different "
                "types; use CAST in one side's SELECT",
                conjunct,
            )
        left_keys.append(left_name)
        right_keys.append(right_name)
    if not windows_equal:
        raise text.error(
            f"a window join needs its windows equal in ON: "
            f"{left.qualifier}.{left.window.column} = {right.qualifier}.{right.window.column} "
            "(joins without windows are not supported yet)",
            on,
        )
    return JoinCondition(left_keys, right_keys)


def _side_column(column: exp.Column, left: JoinSide, right: JoinSide, text: SqlText) -> tuple[JoinSide, str]:
    """Which side's which column a column reference of ON names."""
    if column.args.get("db") or column.args.get("catalog") or not isinstance(column.this, exp.Identifier):
        raise text.error(
            f"a window join's ON compares whole columns, not {column.sql(dialect=SQL_DIALECT)}", column
        )
    name = column_name(column.this)
    qualifier = column.args.get("table")
    if qualifier is not None:
        side = _named_side(qualifier, left, right)
        if side is None:
            raise text.error(
                f"unknown table {qualifier.sql(dialect=SQL_DIALECT)!r} in {column.sql(dialect=SQL_DIALECT)} "
                f"(the join reads {left.qualifier!r} and {right.qualifier!r})",
                column,
            )
        if side.schema.get(name) is None:
            raise text.error(f"{side.qualifier!r} has no column {name!r}", column)
        return side, name
    return _unqualified(name, column, left, right, text), name


def _named_side(qualifier: exp.Expression, left: JoinSide, right: JoinSide) -> JoinSide | None:
    if not isinstance(qualifier, exp.Identifier):
        return None
    name = column_name(qualifier)
    return next((side for side in (left, right) if side.qualifier == name), None)


def _unqualified(name: str, node: exp.Expression, left: JoinSide, right: JoinSide, text: SqlText) -> JoinSide:
    having = [side for side in (left, right) if side.schema.get(name) is not None]
    if not having:
        raise text.error(
            f"unknown column {name!r} (the join reads {left.qualifier!r} and {right.qualifier!r})", node
        )
    if len(having) > 1:
        raise text.error(
            f"column {name!r} is ambiguous: both sides of the join have it; write "
            f"{left.qualifier}.{name} or {right.qualifier}.{name}",
            node,
        )
    return having[0]


def qualify_join_columns(
    node: exp.Expression, left: JoinSide, right: JoinSide, text: SqlText
) -> exp.Expression:
    """`node` with its column references rewritten to the join's output columns
    (`A.x` -> `"a.x"`, `A.window.start` -> `"a.window".start`). A bare column keeps its
    name as the output name (`SELECT A.x` produces a column `x`)."""
    if isinstance(node, exp.Star) or (isinstance(node, exp.Column) and isinstance(node.this, exp.Star)):
        raise text.error("SELECT * over a window join is not supported; name the columns", node)
    if (
        isinstance(node, exp.Column)
        and isinstance(node.this, exp.Identifier)
        and isinstance(node.parent, exp.Select)
    ):
        name = exp.Identifier(this=column_name(node.this), quoted=True)
        rewritten = _qualified(node.copy(), left, right, text)
        return exp.Alias(this=rewritten, alias=name)
    return node.transform(
        lambda inner: _qualified(inner, left, right, text) if isinstance(inner, exp.Column) else inner
    )


def _qualified(column: exp.Column, left: JoinSide, right: JoinSide, text: SqlText) -> exp.Expression:
    if isinstance(column.this, exp.Star):
        raise text.error("SELECT * over a window join is not supported; name the columns", column)
    if column.args.get("catalog"):
        raise text.error(f"invalid column reference {column.sql(dialect=SQL_DIALECT)}", column)
    parts = [column.args.get("db"), column.args.get("table"), column.this]
    parts = [part for part in parts if part is not None]
    if not all(isinstance(part, exp.Identifier) for part in parts):
        raise text.error(f"invalid column reference {column.sql(dialect=SQL_DIALECT)}", column)
    side = _named_side(parts[0], left, right) if len(parts) > 1 else None
    if side is not None:
        parts = parts[1:]
    elif len(parts) == 3:
        raise text.error(
            f"unknown table {parts[0].sql(dialect=SQL_DIALECT)!r} in {column.sql(dialect=SQL_DIALECT)} "
            f"(the join reads {left.qualifier!r} and {right.qualifier!r})",
            column,
        )
    name = column_name(parts[0])
    if side is None:
        side = _unqualified(name, column, left, right, text)
    elif side.schema.get(name) is None:
        raise text.error(f"{side.qualifier!r} has no column {name!r}", column)
    target = exp.Identifier(this=side.output_name(name), quoted=True)
    target.meta.update(parts[0].meta)
    if len(parts) == 1:
        return exp.Column(this=target)
    field = parts[1].copy()
    return exp.Column(this=field, table=target)
