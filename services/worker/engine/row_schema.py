"""The columns of the rows an operator reads or writes.

A plan only stores the schema of source tables (`SourceSpec.schema`); every other
operator's schema follows from its input and its expressions, and is derived the same way
by the planner (to check the query) and by the engine (to compile it).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import polars as pl

from services.worker.engine.sql_types import polars_type_from_name, sql_type_name
from weir.v1 import dataflow_pb2


@dataclass(frozen=True)
class Field:
    """One column: its name, its Polars type and whether it can hold NULL."""

    name: str
    dtype: pl.DataType
    nullable: bool

    def to_proto(self) -> dataflow_pb2.Column:
        return dataflow_pb2.Column(name=self.name, type=sql_type_name(self.dtype), nullable=self.nullable)

    @classmethod
    def from_proto(cls, column: dataflow_pb2.Column) -> Field:
        return cls(column.name, polars_type_from_name(column.type), column.nullable)


class RowSchema:
    """An ordered set of uniquely named fields."""

    def __init__(self, fields: Iterable[Field]) -> None:
        self._fields = tuple(fields)
        self._by_name = {f.name: f for f in self._fields}
        if len(self._by_name) != len(self._fields):
            raise ValueError(f"duplicate column names in {[f.name for f in self._fields]}")

    @classmethod
    def from_columns(cls, columns: Iterable[dataflow_pb2.Column]) -> RowSchema:
        return cls(Field.from_proto(c) for c in columns)

    def to_columns(self) -> list[dataflow_pb2.Column]:
        return [f.to_proto() for f in self._fields]

    @property
    def fields(self) -> tuple[Field, ...]:
        return self._fields

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self._fields)

    def get(self, name: str) -> Field | None:
        return self._by_name.get(name)

    def polars_schema(self) -> pl.Schema:
        return pl.Schema([(f.name, f.dtype) for f in self._fields])

    def __iter__(self) -> Iterator[Field]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RowSchema) and self._fields == other._fields

    def __hash__(self) -> int:
        return hash(self._fields)

    def __repr__(self) -> str:
        return f"RowSchema({', '.join(f'{f.name} {sql_type_name(f.dtype)}' for f in self._fields)})"
