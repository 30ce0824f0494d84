"""Numpy arrays in Arrow's memory pool, for the columns of generated batches.

A batch's columns take about 20 MB. Allocated by numpy (glibc malloc) they lie at the
top of the heap, so when the consumer drops a batch before the next one is generated,
glibc returns them to the OS and the next batch page-faults them back in: that cost as
much CPU as generating the batch. Arrow's pool (mimalloc by default) keeps freed memory
for reuse. Arrays made here are ordinary writable numpy arrays; Arrow arrays built on
them (`pa.array`, `pa.py_buffer`) share the memory without a copy.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa


def empty(count: int, dtype: npt.DTypeLike) -> np.ndarray:
    """An uninitialized array of `count` elements of `dtype`."""
    dtype = np.dtype(dtype)
    return np.frombuffer(pa.allocate_buffer(count * dtype.itemsize), dtype)


def zeros(count: int, dtype: npt.DTypeLike) -> np.ndarray:
    """An array of `count` zero elements of `dtype`."""
    array = empty(count, dtype)
    array.view(np.uint8).fill(0)
    return array
