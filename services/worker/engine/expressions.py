"""SQL expressions compiled once into vectorized Polars expressions, with SQL semantics.

The plan stores expressions as SQL text; each worker parses and compiles them here when a
task opens, and the compiled `pl.Expr` then runs on whole batches. The planner compiles
the same expressions with this same code to check a query, so a plan that passes the
planner compiles on every worker, with the same result types.

Where Polars and SQL disagree, SQL wins and the compiler bridges the gap:
- type errors (`'a' + 1`, `WHERE counter`) are rejected at compile time, pointing at the
  offending node, instead of being coerced the way Polars would;
- integer `/` and `%` truncate toward zero (PostgreSQL, DataFusion), where Polars floors;
- integer division by zero is an error, as in PostgreSQL and Flink. Polars would yield
  NULL, so the compiler attaches a `Guard` (a vectorized condition true on offending
  rows) which operators evaluate before using the result; a guard inside a `CASE` branch
  only fires on rows that take that branch.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import polars as pl
import sqlglot
from sqlglot import exp

from services.worker.engine.errors import RecordError
from services.worker.engine.json_lines import json_lines
from services.worker.engine.row_schema import RowSchema
from services.worker.engine.sql_dialect import SQL_DIALECT
from services.worker.engine.sql_types import UnsupportedTypeError, polars_type, sql_type_name

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
_TYPE_PROBE = "__weir_type_probe"


class ExpressionError(ValueError):
    """An expression that cannot be compiled; `node` is the part of the SQL at fault."""

    def __init__(self, message: str, node: exp.Expression | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.node = node


@dataclass(frozen=True)
class Guard:
    """Rows on which an expression has no value: `condition` is true (never NULL) there."""

    condition: pl.Expr
    message: str


@dataclass(frozen=True)
class CompiledExpression:
    """A compiled expression, its result type, whether it can be NULL, and its guards."""

    expr: pl.Expr
    dtype: pl.DataType
    nullable: bool
    guards: tuple[Guard, ...] = ()


class _Kind(enum.Enum):
    """The families of types SQL operators accept."""

    NUMERIC = "numeric"
    STRING = "text"
    BOOLEAN = "boolean"
    TEMPORAL = "temporal"
    NULL = "null"
    OTHER = "other"


def _kind(dtype: pl.DataType) -> _Kind:
    if isinstance(dtype, pl.Null):
        return _Kind.NULL
    if dtype.is_numeric():
        return _Kind.NUMERIC
    if isinstance(dtype, pl.String):
        return _Kind.STRING
    if isinstance(dtype, pl.Boolean):
        return _Kind.BOOLEAN
    if dtype.is_temporal():
        return _Kind.TEMPORAL
    return _Kind.OTHER


def _type_name(dtype: pl.DataType) -> str:
    try:
        return sql_type_name(dtype)
    except UnsupportedTypeError:
        return str(dtype)


def _sql(node: exp.Expression) -> str:
    return node.sql(dialect=SQL_DIALECT)


def column_name(identifier: exp.Identifier) -> str:
    """The name an identifier refers to: unquoted names fold to lower case, as in PostgreSQL."""
    return identifier.this if identifier.quoted else identifier.this.lower()


def parse_expression(sql: str) -> exp.Expression:
    """Parse one SQL expression as stored in a plan."""
    try:
        return sqlglot.parse_one(sql, dialect=SQL_DIALECT)
    except sqlglot.errors.SqlglotError as error:
        raise ExpressionError(f"cannot parse expression {sql!r}: {error}") from error


def compile_expression(node: exp.Expression, schema: RowSchema) -> CompiledExpression:
    """Compile a scalar SQL expression over rows of `schema`."""
    try:
        return _Compiler(schema).compile(node, None)
    except RecursionError:
        raise ExpressionError("expression is too deeply nested", node) from None


def compile_predicate(node: exp.Expression, schema: RowSchema) -> CompiledExpression:
    """Compile a SQL condition (a `WHERE` clause): it must be BOOLEAN."""
    compiled = compile_expression(node, schema)
    if _kind(compiled.dtype) not in (_Kind.BOOLEAN, _Kind.NULL):
        raise ExpressionError(
            f"a condition must be BOOLEAN, but {_sql(node)} is {_type_name(compiled.dtype)}", node
        )
    return compiled


def check_guards(frame: pl.DataFrame, guards: Sequence[Guard]) -> None:
    """Raise `RecordError` with the first offending row if any guard holds on `frame`."""
    if not guards:
        return
    hits = frame.select([g.condition.any().alias(f"g{i}") for i, g in enumerate(guards)]).row(0)
    for guard, hit in zip(guards, hits, strict=True):
        if hit:
            record = json_lines(frame.filter(guard.condition).head(1)).strip()
            raise RecordError(guard.message, record)


def _and(context: pl.Expr | None, condition: pl.Expr) -> pl.Expr:
    return condition if context is None else context & condition


_ARITHMETIC_SYMBOLS: dict[type[exp.Expression], str] = {
    exp.Add: "+",
    exp.Sub: "-",
    exp.Mul: "*",
    exp.Div: "/",
    exp.Mod: "%",
}
_COMPARISONS: dict[type[exp.Expression], tuple[str, Callable[[pl.Expr, pl.Expr], pl.Expr]]] = {
    exp.EQ: ("=", lambda a, b: a == b),
    exp.NEQ: ("<>", lambda a, b: a != b),
    exp.GT: (">", lambda a, b: a > b),
    exp.GTE: (">=", lambda a, b: a >= b),
    exp.LT: ("<", lambda a, b: a < b),
    exp.LTE: ("<=", lambda a, b: a <= b),
}


class _Compiler:
    """Compiles one expression tree bottom-up; `context` is the condition under which a
    sub-expression is evaluated at all (inside CASE branches), used to scope guards."""

    def __init__(self, schema: RowSchema) -> None:
        self._schema = schema
        self._frame = pl.LazyFrame(schema=schema.polars_schema())

    def compile(self, node: exp.Expression, context: pl.Expr | None) -> CompiledExpression:
        handler = _HANDLERS.get(type(node))
        if handler is None:
            raise ExpressionError(_unsupported_message(node), node)
        return handler(self, node, context)

    def _dtype_of(self, expr: pl.Expr, node: exp.Expression) -> pl.DataType:
        """The result type Polars will produce, so plan types always equal runtime types."""
        try:
            return self._frame.select(expr.alias(_TYPE_PROBE)).collect_schema()[_TYPE_PROBE]
        except pl.exceptions.PolarsError as error:
            raise ExpressionError(f"cannot compute the type of {_sql(node)}: {error}", node) from error

    # Leaves

    def _column(self, node: exp.Expression, context: pl.Expr | None) -> CompiledExpression:
        assert isinstance(node, exp.Column)
        if node.args.get("db") or node.args.get("catalog"):
            raise ExpressionError(f"qualified column {_sql(node)} where an unqualified one is expected", node)
        if node.args.get("table") is not None:
            return self._struct_field(node)
        identifier = node.this
        if not isinstance(identifier, exp.Identifier):
            raise ExpressionError(f"{_sql(node)} is not allowed in an expression", node)
        name = column_name(identifier)
        field = self._schema.get(name)
        if field is None:
            available = ", ".join(self._schema.names) or "none"
            raise ExpressionError(f"unknown column {name!r} (available columns: {available})", node)
        return CompiledExpression(pl.col(name), field.dtype, field.nullable)

    def _struct_field(self, node: exp.Column) -> CompiledExpression:
        """`s.f`: the field `f` of the STRUCT column `s` (NULL where `s` is NULL)."""
        struct_node, field_node = node.args["table"], node.this
        if not isinstance(struct_node, exp.Identifier) or not isinstance(field_node, exp.Identifier):
            raise ExpressionError(f"{_sql(node)} is not allowed in an expression", node)
        struct_name, field_name = column_name(struct_node), column_name(field_node)
        struct = self._schema.get(struct_name)
        if struct is None or not isinstance(struct.dtype, pl.Struct):
            raise ExpressionError(
                f"qualified column {_sql(node)} where an unqualified one is expected "
                f"({struct_name!r} is not a STRUCT column)",
                node,
            )
        members = {f.name: f.dtype for f in struct.dtype.fields}
        if field_name not in members:
            raise ExpressionError(
                f"STRUCT column {struct_name!r} has no field {field_name!r} (fields: {', '.join(members)})",
                node,
            )
        return CompiledExpression(pl.col(struct_name).struct.field(field_name), members[field_name], True)

    def _literal(self, node: exp.Expression, context: pl.Expr | None) -> CompiledExpression:
        assert isinstance(node, exp.Literal)
        text = node.this
        if node.is_string:
            return CompiledExpression(pl.lit(text, dtype=pl.String), pl.String(), False)
        try:
            integer = int(text)
        except ValueError:
            pass
        else:
            if not INT64_MIN <= integer <= INT64_MAX:
                raise ExpressionError(f"integer literal {text} is out of the BIGINT range", node)
            return CompiledExpression(pl.lit(integer, dtype=pl.Int64), pl.Int64(), False)
        try:
            number = float(text)
        except ValueError:
            raise ExpressionError(f"invalid numeric literal {text!r}", node) from None
        return CompiledExpression(pl.lit(number, dtype=pl.Float64), pl.Float64(), False)

    def _boolean(self, node: exp.Expression, context: pl.Expr | None) -> CompiledExpression:
        assert isinstance(node, exp.Boolean)
        return CompiledExpression(pl.lit(bool(node.this), dtype=pl.Boolean), pl.Boolean(), False)

    def _null(self, node: exp.Expression, context: pl.Expr | None) -> CompiledExpression:
        return CompiledExpression(pl.lit(None), pl.Null(), True)

    def _paren(self, node: exp.Expression, context: pl.Expr | None) -> CompiledExpression:
        return self.compile(node.this, context)

    # Arithmetic

    def _arithmetic(self, node: exp.Expression, context: pl.Expr | None) -> CompiledExpression:
        symbol = _ARITHMETIC_SYMBOLS[type(node)]
        left = self.compile(node.this, context)
        right = self.compile(node.expression, context)
        for side in (left, right):
            if _kind(side.dtype) not in (_Kind.NUMERIC, _Kind.NULL):
                raise ExpressionError(
                    f"operator {symbol} needs numeric operands, but {_sql(node)} has "
                    f"{_type_name(left.dtype)} {symbol} {_type_name(right.dtype)}",
                    node,
                )
        guards = left.guards + right.guards
        a, b = left.expr, right.expr
        integers = left.dtype.is_integer() and right.dtype.is_integer()
        if isinstance(node, exp.Add):
            expr = a + b
        elif isinstance(node, exp.Sub):
            expr = a - b
        elif isinstance(node, exp.Mul):
            expr = a * b
        elif isinstance(node, exp.Div):
            expr = _truncating_division(a, b) if integers else a / b
        else:
            expr = _truncating_remainder(a, b)
        if integers and isinstance(node, exp.Div | exp.Mod):
            zero = b == 0
            if left.nullable:
                zero = zero & a.is_not_null()
            guards += (Guard(_and(context, zero).fill_null(False), f"division by zero in {_sql(node)}"),)
        return CompiledExpression(expr, self._dtype_of(expr, node), left.nullable or right.nullable, guards)

    def _negation(self, node: exp.Expression, context: pl.Expr | None) -> CompiledExpression:
        operand = self.compile(node.this, context)
        if _kind(operand.dtype) not in (_Kind.NUMERIC, _Kind.NULL):
            raise ExpressionError(
                f"unary - needs a numeric operand, but {_sql(node.this)} is {_type_name(operand.dtype)}", node
            )
        expr = -operand.expr
        return CompiledExpression(expr, self._dtype_of(expr, node), operand.nullable, operand.guards)

    # Comparisons and logic

    def _comparable(
        self, node: exp.Expression, symbol: str, left: CompiledExpression, right: CompiledExpression
    ) -> None:
        kinds = {_kind(left.dtype), _kind(right.dtype)} - {_Kind.NULL}
        if len(kinds) > 1 or _Kind.OTHER in kinds:
            raise ExpressionError(
                f"cannot compare {_type_name(left.dtype)} {symbol} {_type_name(right.dtype)} in {_sql(node)}",
                node,
            )

    def _comparison(self, node: exp.Expression, context: pl.Expr | None) -> CompiledExpression:
        symbol, operator = _COMPARISONS[type(node)]
        left = self.compile(node.this, context)
        right = self.compile(node.expression, context)
        self._comparable(node, symbol, left, right)
        return CompiledExpression(
            operator(left.expr, right.expr),
            pl.Boolean(),
            left.nullable or right.nullable,
            left.guards + right.guards,
        )

    def _between(self, node: exp.Expression, context: pl.Expr | None) -> CompiledExpression:
        value = self.compile(node.this, context)
        low = self.compile(node.args["low"], context)
        high = self.compile(node.args["high"], context)
        self._comparable(node, "BETWEEN", value, low)
        self._comparable(node, "BETWEEN", value, high)
        expr = (value.expr >= low.expr) & (value.expr <= high.expr)
        nullable = value.nullable or low.nullable or high.nullable
        return CompiledExpression(expr, pl.Boolean(), nullable, value.guards + low.guards + high.guards)

    def _boolean_operand(
        self, node: exp.Expression, operand: exp.Expression, context: pl.Expr | None
    ) -> CompiledExpression:
        compiled = self.compile(operand, context)
        kind = _kind(compiled.dtype)
        if kind is _Kind.NULL:
            return CompiledExpression(compiled.expr.cast(pl.Boolean), pl.Boolean(), True, compiled.guards)
        if kind is not _Kind.BOOLEAN:
            raise ExpressionError(
                f"{_sql(operand)} is {_type_name(compiled.dtype)}, "
                f"but {type(node).__name__.upper()} needs BOOLEAN",
                operand,
            )
        return compiled

    def _logical(self, node: exp.Expression, context: pl.Expr | None) -> CompiledExpression:
        left = self._boolean_operand(node, node.this, context)
        right = self._boolean_operand(node, node.expression, context)
        # Polars' & and | follow SQL's three-valued logic (NULL AND FALSE is FALSE).
        expr = left.expr & right.expr if isinstance(node, exp.And) else left.expr | right.expr
        return CompiledExpression(
            expr, pl.Boolean(), left.nullable or right.nullable, left.guards + right.guards
        )

    def _not(self, node: exp.Expression, context: pl.Expr | None) -> CompiledExpression:
        operand = self._boolean_operand(node, node.this, context)
        return CompiledExpression(~operand.expr, pl.Boolean(), operand.nullable, operand.guards)

    def _is(self, node: exp.Expression, context: pl.Expr | None) -> CompiledExpression:
        if not isinstance(node.expression, exp.Null):
            raise ExpressionError(
                f"unsupported expression {_sql(node)!r}: only IS [NOT] NULL is supported", node
            )
        operand = self.compile(node.this, context)
        return CompiledExpression(operand.expr.is_null(), pl.Boolean(), False, operand.guards)

    # Conversions

    def _cast(self, node: exp.Expression, context: pl.Expr | None) -> CompiledExpression:
        assert isinstance(node, exp.Cast)
        operand = self.compile(node.this, context)
        try:
            target = polars_type(node.to)
        except UnsupportedTypeError as error:
            raise ExpressionError(str(error), node.to) from None
        source_kind, target_kind = _kind(operand.dtype), _kind(target)
        allowed = (
            source_kind in (target_kind, _Kind.NULL, _Kind.STRING)
            or target_kind is _Kind.STRING
            or {source_kind, target_kind} == {_Kind.NUMERIC, _Kind.BOOLEAN}
        )
        if not allowed:
            raise ExpressionError(
                f"cannot cast {_type_name(operand.dtype)} to {_type_name(target)} in {_sql(node)}", node
            )
        strict = not isinstance(node, exp.TryCast)
        expr = operand.expr.cast(target, strict=strict)
        return CompiledExpression(expr, target, operand.nullable or not strict, operand.guards)

    def _concat(self, node: exp.Expression, context: pl.Expr | None) -> CompiledExpression:
        parts = [self.compile(node.this, context), self.compile(node.expression, context)]
        texts = [p.expr if isinstance(p.dtype, pl.String) else p.expr.cast(pl.String) for p in parts]
        # concat_str yields NULL if any part is NULL, as SQL's || does.
        expr = pl.concat_str(texts)
        return CompiledExpression(
            expr, pl.String(), any(p.nullable for p in parts), tuple(g for p in parts for g in p.guards)
        )

    def _case(self, node: exp.Expression, context: pl.Expr | None) -> CompiledExpression:
        subject_node = node.this
        subject = self.compile(subject_node, context) if subject_node is not None else None
        guards: list[Guard] = list(subject.guards) if subject else []
        taken: pl.Expr | None = None
        branches: list[tuple[pl.Expr, CompiledExpression]] = []
        for branch in node.args.get("ifs") or []:
            reachable = context if taken is None else _and(context, ~taken)
            if subject is not None:
                candidate = self.compile(branch.this, reachable)
                self._comparable(branch.this, "=", subject, candidate)
                condition = subject.expr == candidate.expr
                guards.extend(candidate.guards)
            else:
                compiled = self._boolean_operand(node, branch.this, reachable)
                condition = compiled.expr
                guards.extend(compiled.guards)
            holds = condition.fill_null(False)
            value = self.compile(branch.args["true"], _and(reachable, holds))
            guards.extend(value.guards)
            branches.append((holds, value))
            taken = holds if taken is None else taken | holds
        default_node = node.args.get("default")
        default: CompiledExpression | None = None
        if default_node is not None:
            default = self.compile(default_node, context if taken is None else _and(context, ~taken))
            guards.extend(default.guards)
        results = [value for _, value in branches] + ([default] if default else [])
        kinds = {_kind(r.dtype) for r in results} - {_Kind.NULL}
        if len(kinds) > 1 or _Kind.OTHER in kinds:
            names = ", ".join(sorted({_type_name(r.dtype) for r in results}))
            raise ExpressionError(f"CASE results have incompatible types ({names}) in {_sql(node)}", node)
        if not branches:
            raise ExpressionError("CASE needs at least one WHEN", node)
        first_condition, first_value = branches[0]
        chain = pl.when(first_condition).then(first_value.expr)
        for condition, value in branches[1:]:
            chain = chain.when(condition).then(value.expr)
        expr = chain.otherwise(default.expr if default else pl.lit(None))
        nullable = default is None or any(r.nullable for r in results)
        return CompiledExpression(expr, self._dtype_of(expr, node), nullable, tuple(guards))


def _truncating_division(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    """Integer division rounding toward zero (SQL), from Polars' flooring `//`."""
    floor = a // b
    inexact_negative = ((a % b) != 0) & ((a < 0) != (b < 0))
    return pl.when(inexact_negative).then(floor + 1).otherwise(floor)


def _truncating_remainder(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    """Remainder with the sign of the dividend (SQL), from Polars' remainder with the sign
    of the divisor."""
    remainder = a % b
    return pl.when((remainder != 0) & ((remainder < 0) != (a < 0))).then(remainder - b).otherwise(remainder)


def _unsupported_message(node: exp.Expression) -> str:
    if isinstance(node, exp.Alias):
        return f"an alias is not allowed inside an expression: {_sql(node)}"
    if isinstance(node, exp.Star):
        return "* is only allowed as a whole SELECT item"
    if isinstance(node, exp.Anonymous):
        return f"unknown function {node.name.upper()}"
    if isinstance(node, exp.Func):
        return f"function {node.sql_name()} is not supported yet"
    if isinstance(node, exp.Subquery | exp.Select):
        return "subqueries are not supported yet"
    return f"unsupported expression {_sql(node)!r}"


_Handler = Callable[[_Compiler, exp.Expression, pl.Expr | None], CompiledExpression]
_HANDLERS: dict[type[exp.Expression], _Handler] = {
    exp.Column: _Compiler._column,
    exp.Literal: _Compiler._literal,
    exp.Boolean: _Compiler._boolean,
    exp.Null: _Compiler._null,
    exp.Paren: _Compiler._paren,
    exp.Neg: _Compiler._negation,
    exp.And: _Compiler._logical,
    exp.Or: _Compiler._logical,
    exp.Not: _Compiler._not,
    exp.Is: _Compiler._is,
    exp.Cast: _Compiler._cast,
    exp.TryCast: _Compiler._cast,
    exp.DPipe: _Compiler._concat,
    exp.Case: _Compiler._case,
    exp.Between: _Compiler._between,
    **dict.fromkeys(_ARITHMETIC_SYMBOLS, _Compiler._arithmetic),
    **dict.fromkeys(_COMPARISONS, _Compiler._comparison),
}
