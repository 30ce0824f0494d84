"""Rows as JSON lines, the way every JSON output of the engine writes them.

Integers and floats keep their JSON form; timestamps (also inside structs, such as a
window's start and end, and lists) are ISO-8601 without a zone, as Arroyo writes them:
`2023-09-18T14:00:00`, with milliseconds only when they are not zero
(`2023-09-18T14:00:00.250`). Polars alone writes `2023-09-18 14:00:00`.
"""

from __future__ import annotations

import polars as pl

_SECONDS = "%Y-%m-%dT%H:%M:%S"
_MILLISECONDS = "%Y-%m-%dT%H:%M:%S%.3f"


def json_lines(frame: pl.DataFrame) -> str:
    """`frame`'s rows, one JSON object per line (each line ends with a newline)."""
    converted = [
        expr.alias(name)
        for name, dtype in frame.schema.items()
        if (expr := _with_iso_timestamps(pl.col(name), dtype)) is not None
    ]
    return (frame.with_columns(converted) if converted else frame).write_ndjson()


def _with_iso_timestamps(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr | None:
    """`expr` with its timestamps as ISO-8601 strings; None when its type holds none."""
    if isinstance(dtype, pl.Datetime):
        return (
            pl.when(expr.dt.millisecond() == 0)
            .then(expr.dt.strftime(_SECONDS))
            .otherwise(expr.dt.strftime(_MILLISECONDS))
        )
    if isinstance(dtype, pl.Struct):
        fields = [(f.name, _with_iso_timestamps(expr.struct.field(f.name), f.dtype)) for f in dtype.fields]
        if all(converted is None for _, converted in fields):
            return None
        rebuilt = pl.struct(
            [
                (expr.struct.field(name) if converted is None else converted).alias(name)
                for name, converted in fields
            ]
        )
        # pl.struct is never NULL itself: keep the NULL rows NULL.
        return pl.when(expr.is_null()).then(None).otherwise(rebuilt)
    if isinstance(dtype, pl.List):
        inner = _with_iso_timestamps(pl.element(), dtype.inner)
        return None if inner is None else expr.list.eval(inner)
    return None
