"""SQL column types and the Polars/Arrow types the engine holds them in.

The planner writes SQL type names into the plan (`Column.type`) and the engine turns them
back into Polars types; both go through this one table so a plan always means the same
types on every worker. Names are parsed with sqlglot so `INTEGER`, `INT` and `int` agree.
"""

from __future__ import annotations

import polars as pl
import sqlglot
from sqlglot import exp

from services.worker.engine.sql_dialect import SQL_DIALECT

DType = exp.DataType.Type

_FROM_SQL: dict[DType, pl.DataType] = {
    DType.TINYINT: pl.Int8(),
    DType.SMALLINT: pl.Int16(),
    DType.INT: pl.Int32(),
    DType.BIGINT: pl.Int64(),
    DType.UTINYINT: pl.UInt8(),
    DType.USMALLINT: pl.UInt16(),
    DType.UINT: pl.UInt32(),
    DType.UBIGINT: pl.UInt64(),
    DType.FLOAT: pl.Float32(),
    DType.DOUBLE: pl.Float64(),
    DType.TEXT: pl.String(),
    DType.VARCHAR: pl.String(),
    DType.CHAR: pl.String(),
    DType.NVARCHAR: pl.String(),
    DType.NCHAR: pl.String(),
    DType.BOOLEAN: pl.Boolean(),
    DType.DATE: pl.Date(),
    DType.TIMESTAMP: pl.Datetime("us"),
    DType.DATETIME: pl.Datetime("us"),
    DType.NULL: pl.Null(),
}

# Canonical names, chosen so that each parses back (with SQL_DIALECT) to the same type.
_TO_SQL: dict[type[pl.DataType], str] = {
    pl.Int8: "TINYINT",
    pl.Int16: "SMALLINT",
    pl.Int32: "INT",
    pl.Int64: "BIGINT",
    pl.UInt8: "TINYINT UNSIGNED",
    pl.UInt16: "SMALLINT UNSIGNED",
    pl.UInt32: "INT UNSIGNED",
    pl.UInt64: "BIGINT UNSIGNED",
    pl.Float32: "REAL",
    pl.Float64: "DOUBLE",
    pl.String: "TEXT",
    pl.Boolean: "BOOLEAN",
    pl.Date: "DATE",
    pl.Datetime: "TIMESTAMP",
    pl.Null: "NULL",
}


class UnsupportedTypeError(ValueError):
    """A SQL type the engine has no column representation for (yet)."""


def polars_type(data_type: exp.DataType) -> pl.DataType:
    """The Polars type holding values of the parsed SQL type `data_type`."""
    if data_type.this == DType.STRUCT:
        return _struct_type(data_type)
    if data_type.expressions and data_type.this not in (
        DType.VARCHAR,
        DType.CHAR,
        DType.NVARCHAR,
        DType.NCHAR,
    ):
        raise UnsupportedTypeError(f"type {data_type.sql(dialect=SQL_DIALECT)} is not supported")
    try:
        return _FROM_SQL[data_type.this]
    except KeyError:
        raise UnsupportedTypeError(f"type {data_type.sql(dialect=SQL_DIALECT)} is not supported") from None


def _struct_type(data_type: exp.DataType) -> pl.Struct:
    """`STRUCT<name TYPE, ...>` (nested rows, like Arroyo's nexmark `bid` column)."""
    fields = []
    for member in data_type.expressions:
        kind = member.args.get("kind") if isinstance(member, exp.ColumnDef) else None
        if not isinstance(kind, exp.DataType) or not isinstance(member.this, exp.Identifier):
            raise UnsupportedTypeError(
                f"struct field {member.sql(dialect=SQL_DIALECT)} needs a name and a type"
            )
        fields.append(pl.Field(member.this.name, polars_type(kind)))
    if not fields:
        raise UnsupportedTypeError("a STRUCT needs at least one field")
    return pl.Struct(fields)


def polars_type_from_name(name: str) -> pl.DataType:
    """The Polars type for a SQL type name as written in a plan (`BIGINT`, `TEXT`, ...)."""
    if name == "NULL":
        return pl.Null()
    try:
        data_type = exp.DataType.build(name, dialect=SQL_DIALECT)
    except (sqlglot.errors.ParseError, ValueError) as error:
        raise UnsupportedTypeError(f"unknown type name {name!r}") from error
    return polars_type(data_type)


def sql_type_name(dtype: pl.DataType) -> str:
    """The canonical SQL name of a Polars type, as the plan and the API show it."""
    if isinstance(dtype, pl.Struct):
        members = ", ".join(f"{_field_name(f.name)} {sql_type_name(f.dtype)}" for f in dtype.fields)
        return f"STRUCT<{members}>"
    name = _TO_SQL.get(type(dtype))
    if name is None:
        raise UnsupportedTypeError(f"no SQL type for {dtype}")
    return name


def _field_name(name: str) -> str:
    """A struct field's name as written in a type name (quoted unless plain)."""
    return exp.to_identifier(name).sql(dialect=SQL_DIALECT)
