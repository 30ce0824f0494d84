"""The expressions of a SELECT, resolved against the table it reads and type-checked.

Column references are checked (qualifier and name), then rewritten into the plan's
normal form: unqualified, case folded, written back by sqlglot. Type checking is the
engine's own compiler, so a plan that passes here compiles identically on every worker;
its errors are turned into PlanErrors pointing at the offending part of the query.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl
from sqlglot import exp
from sqlglot.tokens import Tokenizer

from services.planner.positions import SqlText
from services.worker.engine.expressions import (
    CompiledExpression,
    ExpressionError,
    column_name,
    compile_expression,
    compile_predicate,
)
from services.worker.engine.row_schema import RowSchema
from services.worker.engine.sql_dialect import SQL_DIALECT

_PLAIN_NAME = re.compile(r"[a-z_][a-z0-9_]*")


@dataclass(frozen=True)
class Scope:
    """The rows a SELECT reads: one table (referable by its alias, if it has one)."""

    table: str
    alias: str | None
    schema: RowSchema

    @property
    def qualifier(self) -> str:
        return self.alias or self.table


@dataclass(frozen=True)
class OutputColumn:
    """One column a SELECT produces: its name, its normalized expression, its type."""

    name: str
    node: exp.Expression
    compiled: CompiledExpression
    item: exp.Expression

    @property
    def sql(self) -> str:
        return self.node.sql(dialect=SQL_DIALECT)


def _needs_quotes(name: str) -> bool:
    return not _PLAIN_NAME.fullmatch(name) or name.upper() in Tokenizer.KEYWORDS


def column_reference(name: str) -> exp.Column:
    """A column reference that reads back (after case folding) as exactly `name`."""
    return exp.Column(this=exp.Identifier(this=name, quoted=_needs_quotes(name)))


def resolve_references(node: exp.Expression, scope: Scope, text: SqlText) -> exp.Expression:
    """Check and normalize the column references in `node`, in place (positions stay).

    `a.b` is a column `b` of the table `a` or, when `a` is a STRUCT column, its field `b`
    (`bid.price`, as in Arroyo); `t.a.b` is the field `b` of the column `a` of table `t`.
    A field access stays qualified in the plan (`bid.price`), where the engine reads it
    the same way.
    """
    for column in list(node.find_all(exp.Column)):
        if column.args.get("catalog"):
            raise text.error(f"invalid column reference {column.sql(dialect=SQL_DIALECT)}", column)
        table_qualifier = column.args.get("db")
        struct = column.args.get("table")
        qualified_by_table = table_qualifier is None and struct is not None
        if qualified_by_table and not _is_struct_column(struct, scope):
            table_qualifier, struct = struct, None
        if table_qualifier is not None:
            if (
                not isinstance(table_qualifier, exp.Identifier)
                or column_name(table_qualifier) != scope.qualifier
            ):
                raise text.error(
                    f"unknown table {table_qualifier.sql(dialect=SQL_DIALECT)!r} in "
                    f"{column.sql(dialect=SQL_DIALECT)} (the query reads {scope.qualifier!r})",
                    column,
                )
            column.set("db", None)
            if struct is None:
                column.set("table", None)
        for identifier in (struct, column.this):
            if isinstance(identifier, exp.Identifier):
                name = column_name(identifier)
                identifier.set("this", name)
                identifier.set("quoted", _needs_quotes(name))
    return node


def _is_struct_column(identifier: exp.Expression, scope: Scope) -> bool:
    if not isinstance(identifier, exp.Identifier):
        return False
    field = scope.schema.get(column_name(identifier))
    return field is not None and isinstance(field.dtype, pl.Struct)


def compile_checked(
    node: exp.Expression, schema: RowSchema, text: SqlText, predicate: bool = False
) -> CompiledExpression:
    """Compile with the engine's compiler; its errors become PlanErrors at the culprit."""
    try:
        return compile_predicate(node, schema) if predicate else compile_expression(node, schema)
    except ExpressionError as error:
        raise text.error(error.message, error.node or node) from None


def select_outputs(items: list[exp.Expression], scope: Scope, text: SqlText) -> list[OutputColumn]:
    """The columns of a SELECT list: `*` expanded, names from aliases, columns, or the
    expression's own text (as DataFusion names them), each name unique."""
    outputs: list[OutputColumn] = []
    seen: dict[str, exp.Expression] = {}
    for item in items:
        for name, node in _expand(item, scope, text):
            if name in seen:
                raise text.error(f"the query produces two columns named {name!r}; rename one with AS", item)
            seen[name] = item
            outputs.append(OutputColumn(name, node, compile_checked(node, scope.schema, text), item))
    return outputs


def _expand(item: exp.Expression, scope: Scope, text: SqlText) -> list[tuple[str, exp.Expression]]:
    if isinstance(item, exp.Star) or (isinstance(item, exp.Column) and isinstance(item.this, exp.Star)):
        qualifier = item.args.get("table") if isinstance(item, exp.Column) else None
        if qualifier is not None and column_name(qualifier) != scope.qualifier:
            raise text.error(f"unknown table {qualifier.sql(dialect=SQL_DIALECT)!r} in {item.sql()}", item)
        if isinstance(item, exp.Star) and any(
            item.args.get(k) for k in ("except_", "replace", "rename", "ilike")
        ):
            raise text.error("* EXCEPT / REPLACE / RENAME is not supported", item)
        return [(name, column_reference(name)) for name in scope.schema.names]
    if isinstance(item, exp.Alias):
        alias = item.args.get("alias")
        if not isinstance(alias, exp.Identifier):
            raise text.error(f"unsupported alias in {item.sql(dialect=SQL_DIALECT)}", item)
        return [(column_name(alias), resolve_references(item.this, scope, text))]
    node = resolve_references(item, scope, text)
    if isinstance(node, exp.Column) and isinstance(node.this, exp.Identifier):
        return [(column_name(node.this), node)]
    return [(node.sql(dialect=SQL_DIALECT), node)]
