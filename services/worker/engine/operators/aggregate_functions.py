"""SQL aggregate functions as mergeable partials: `compile_aggregates`.

A window aggregate cannot see all of a window's rows at once: they arrive over many
batches (and, across a checkpoint, over several runs). So each function is split the way
a two-phase (partial/final) aggregation splits it:
- `partial`: Polars expressions aggregating the rows of one batch per group;
- `combine`: expressions merging partial rows of the same group into one partial row;
- `final`: the SQL result from a merged partial row.
Partial rows are plain Arrow-compatible columns (a count, a sum, a list of distinct
values), so they are what checkpoints store. Results follow SQL (and DataFusion, whose
types Arroyo's queries expect): `count` is BIGINT and never NULL; `sum` over no
non-NULL value is NULL, and sums integers as BIGINT and floats as DOUBLE; `avg` is DOUBLE.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from services.worker.engine.expressions import (
    CompiledExpression,
    ExpressionError,
    Guard,
    compile_expression,
    parse_expression,
)
from services.worker.engine.row_schema import RowSchema
from services.worker.engine.sql_types import UnsupportedTypeError, sql_type_name
from weir.v1 import dataflow_pb2

Function = dataflow_pb2.Aggregate.Function

FUNCTION_NAMES: dict[str, Function.ValueType] = {
    "count": Function.FUNCTION_COUNT,
    "sum": Function.FUNCTION_SUM,
    "min": Function.FUNCTION_MIN,
    "max": Function.FUNCTION_MAX,
    "avg": Function.FUNCTION_AVG,
}


@dataclass(frozen=True)
class CompiledAggregate:
    """One aggregate, ready to run: see the module docstring for the three phases."""

    name: str
    partial: tuple[pl.Expr, ...]
    combine: tuple[pl.Expr, ...]
    final: pl.Expr
    dtype: pl.DataType
    nullable: bool
    guards: tuple[Guard, ...]


def _describe(function: Function.ValueType, argument: str, distinct: bool) -> str:
    name = Function.Name(function).removeprefix("FUNCTION_").lower()
    return f"{name}({'DISTINCT ' if distinct else ''}{argument or '*'})"


def compile_aggregates(
    aggregates: Sequence[dataflow_pb2.Aggregate], schema: RowSchema
) -> list[CompiledAggregate]:
    """Compile the aggregates of a window over input rows of `schema`; raises
    `ExpressionError` for an argument of the wrong type or an unsupported combination."""
    return [_compile(index, aggregate, schema) for index, aggregate in enumerate(aggregates)]


def _compile(index: int, aggregate: dataflow_pb2.Aggregate, schema: RowSchema) -> CompiledAggregate:
    function, distinct = aggregate.function, aggregate.distinct
    what = _describe(function, aggregate.argument, distinct)
    name = aggregate.name
    column = f"__partial_{index}"
    if not aggregate.argument:
        if function != Function.FUNCTION_COUNT or distinct:
            raise ExpressionError(f"{what}: only count takes *")
        return _counting(name, column, pl.len())
    node = parse_expression(aggregate.argument)
    argument = compile_expression(node, schema)
    if distinct and function not in (Function.FUNCTION_COUNT, Function.FUNCTION_MIN, Function.FUNCTION_MAX):
        raise ExpressionError(f"{what}: DISTINCT is only supported with count, min and max", node)
    if function == Function.FUNCTION_COUNT:
        if distinct:
            return _count_distinct(name, column, argument)
        return _counting(name, column, argument.expr.count(), argument.guards)
    if function in (Function.FUNCTION_SUM, Function.FUNCTION_AVG):
        if not argument.dtype.is_numeric():
            raise ExpressionError(f"{what} needs a numeric argument, not {_type_name(argument.dtype)}", node)
        return _summing(name, column, argument, average=function == Function.FUNCTION_AVG)
    if function in (Function.FUNCTION_MIN, Function.FUNCTION_MAX):
        if not (
            argument.dtype.is_numeric()
            or argument.dtype.is_temporal()
            or isinstance(argument.dtype, pl.String | pl.Boolean)
        ):
            raise ExpressionError(f"{what} cannot order {_type_name(argument.dtype)} values", node)
        return _extreme(name, column, argument, minimum=function == Function.FUNCTION_MIN)
    raise ExpressionError(f"unsupported aggregate function {what}", node)


def _type_name(dtype: pl.DataType) -> str:
    try:
        return sql_type_name(dtype)
    except UnsupportedTypeError:
        return str(dtype)


def _counting(name: str, column: str, partial: pl.Expr, guards: tuple[Guard, ...] = ()) -> CompiledAggregate:
    return CompiledAggregate(
        name,
        (partial.cast(pl.Int64).alias(column),),
        (pl.col(column).sum().alias(column),),
        pl.col(column).alias(name),
        pl.Int64(),
        False,
        guards,
    )


def _count_distinct(name: str, column: str, argument: CompiledExpression) -> CompiledAggregate:
    # The partial is the list of distinct non-NULL values seen: exact, and mergeable
    # across batches and subtasks by concatenating and deduplicating again.
    return CompiledAggregate(
        name,
        (argument.expr.drop_nulls().unique().alias(column),),
        (pl.col(column).list.explode(keep_nulls=False, empty_as_null=False).unique().alias(column),),
        pl.col(column).list.len().cast(pl.Int64).alias(name),
        pl.Int64(),
        False,
        argument.guards,
    )


def _summing(name: str, column: str, argument: CompiledExpression, average: bool) -> CompiledAggregate:
    dtype = argument.dtype
    if average or dtype.is_float():
        total_type: pl.DataType = pl.Float64()
    elif dtype.is_unsigned_integer():
        total_type = pl.UInt64()
    else:
        total_type = pl.Int64()
    total, count = f"{column}_sum", f"{column}_count"
    result = pl.col(total) / pl.col(count) if average else pl.col(total)
    return CompiledAggregate(
        name,
        (
            argument.expr.cast(total_type).sum().alias(total),
            argument.expr.count().cast(pl.Int64).alias(count),
        ),
        (pl.col(total).sum().alias(total), pl.col(count).sum().alias(count)),
        pl.when(pl.col(count) > 0).then(result).otherwise(None).alias(name),
        total_type,
        True,
        argument.guards,
    )


def _extreme(name: str, column: str, argument: CompiledExpression, minimum: bool) -> CompiledAggregate:
    partial = argument.expr.min() if minimum else argument.expr.max()
    combine = pl.col(column).min() if minimum else pl.col(column).max()
    return CompiledAggregate(
        name,
        (partial.alias(column),),
        (combine.alias(column),),
        pl.col(column).alias(name),
        argument.dtype,
        True,
        argument.guards,
    )
