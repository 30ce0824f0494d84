"""Between the Arrow record batches operators exchange and the Polars frames they compute on.

Both directions are zero-copy over the same Arrow buffers (apart from re-chunking a frame
that Polars split into several chunks), so operators can pass Arrow batches, which is what
shuffles and Arrow IPC carry, and still compute with Polars.
"""

from __future__ import annotations

import polars as pl
import pyarrow as pa


def to_frame(batch: pa.RecordBatch) -> pl.DataFrame:
    """A Polars view of a record batch."""
    return pl.DataFrame(batch)


def to_record_batch(frame: pl.DataFrame) -> pa.RecordBatch:
    """One record batch holding all rows of `frame`."""
    table = frame.to_arrow(compat_level=pl.CompatLevel.newest())
    batches = table.to_batches()
    if len(batches) == 1:
        return batches[0]
    if not batches:
        return pa.RecordBatch.from_pylist([], schema=table.schema)
    return table.combine_chunks().to_batches()[0]
