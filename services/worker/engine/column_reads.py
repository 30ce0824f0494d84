"""Which columns of a row some operators read, and of a STRUCT column which fields.

What lets a source skip generating or reading what no operator uses, and an exchange skip
sending it (projection pushdown): nexmark's `bid.price` alone is 8 bytes a row, the whole
`bid` struct with its strings some 150. A read is a column name mapped to the fields read
of it, or to None when the column is read whole; no fields means only whether it is NULL
(`bid IS NOT NULL`), which any one field of a struct carries.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pyarrow as pa
from sqlglot import exp

from services.worker.engine.expressions import column_name


@dataclass(frozen=True)
class ColumnReads:
    fields: Mapping[str, frozenset[str] | None]

    @classmethod
    def whole(cls, columns: Iterable[str]) -> ColumnReads:
        return cls({name: None for name in columns})

    @classmethod
    def of_expressions(cls, nodes: Iterable[exp.Expression]) -> ColumnReads:
        """What compiled expressions (expressions.py) read: `s.f` is field `f` of STRUCT
        column `s` there, any other column reference the column whole."""
        reads = cls({})
        for node in nodes:
            for column in node.find_all(exp.Column):
                if not isinstance(column.this, exp.Identifier):
                    continue
                name = column_name(column.this)
                struct = column.args.get("table")
                if isinstance(struct, exp.Identifier):
                    reads |= cls({column_name(struct): frozenset({name})})
                elif isinstance(column.parent, exp.Is) and isinstance(column.parent.expression, exp.Null):
                    reads |= cls({name: frozenset()})
                else:
                    reads |= cls({name: None})
        return reads

    @property
    def columns(self) -> frozenset[str]:
        return frozenset(self.fields)

    def __or__(self, other: ColumnReads) -> ColumnReads:
        merged = dict(self.fields)
        for name, fields in other.fields.items():
            if name not in merged:
                merged[name] = fields
            else:
                mine = merged[name]
                merged[name] = None if mine is None or fields is None else mine | fields
        return ColumnReads(merged)

    def prune(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        """`batch` with only the columns, and struct fields, read (in their order); whole
        when none is read, since a batch needs a column to carry its rows."""
        arrays, fields = [], []
        for field, array in zip(batch.schema, batch.columns, strict=True):
            if field.name not in self.fields:
                continue
            wanted = self.fields[field.name]
            if wanted is not None and isinstance(array, pa.StructArray):
                kept = [i for i, f in enumerate(field.type) if f.name in wanted] or [0]
                if len(kept) < field.type.num_fields:
                    children = array.flatten()  # unlike .field(i), applies a slice's offset
                    array = pa.StructArray.from_arrays(
                        [children[i] for i in kept],
                        fields=[field.type.field(i) for i in kept],
                        mask=array.is_null() if array.null_count else None,
                    )
                    field = pa.field(field.name, array.type, field.nullable)
            arrays.append(array)
            fields.append(field)
        if not arrays or pa.schema(fields).equals(batch.schema):
            return batch
        return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields))
