"""String columns as Arrow string views into shared buffers: no string bytes are copied.

Nexmark's text fields (names, emails, urls, padding) are drawn from fixed pools; as Arrow
`string_view` arrays a column is 16 bytes per row (length, a 4-byte prefix and an offset
into the pool's buffer, or the bytes inline when at most 12 long) pointing into the pool.
Polars holds strings in this same layout, so a generated batch becomes a Polars frame
without converting its strings (converting plain Arrow strings costs more than
generating them).

Views are numpy arrays of `VIEW` (one 16-byte element per row), so a column of a few
rows' strings can be made for just those rows and then `spread` over a whole batch: an
all-zero view is the empty string, a valid filler for the other rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from services.worker.engine.nexmark import arrow_memory

_INLINE = 12
# A view as one numpy element, so gathering or scattering views is one copy per row.
VIEW = np.dtype([("length", "<u4"), ("word0", "<u4"), ("word1", "<u4"), ("word2", "<u4")])
# _KEEP[w][n]: the bytes of inline word w (0..2) that lie within a string of n <= 12 bytes.
_KEEP = tuple(
    np.array([(1 << (8 * min(max(n - 4 * w, 0), 4))) - 1 for n in range(_INLINE + 1)], dtype=np.uint32)
    for w in range(3)
)
# Zero words after the data, so that an inline string's three words can be read at any
# offset <= len(data) without clipping the index.
_WORD_PADDING = 2 * 4 + 1


def _words(data: np.ndarray) -> np.ndarray:
    """The little-endian uint32 made of the 4 bytes starting at each position of `data`,
    then `_WORD_PADDING` zeros."""
    padded = np.concatenate([data, np.zeros(3 + _WORD_PADDING, dtype=np.uint8)]).astype(np.uint32)
    return padded[:-3] | padded[1:-2] << 8 | padded[2:-1] << 16 | padded[3:] << 24


def _views(words: np.ndarray, offsets: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The views of the strings data[offset : offset + length], `words = _words(data)`.

    Longer than 12 bytes: a 4-byte prefix, buffer 0 and the offset. Up to 12: the bytes
    inline (zero-padded); those rows are usually few, so they are rewritten afterwards
    rather than masking every row."""
    views = arrow_memory.empty(len(lengths), VIEW)
    fields = views.view(np.uint32).reshape(len(lengths), 4)
    fields[:, 0] = lengths
    fields[:, 1] = np.take(words, offsets)
    fields[:, 2] = 0
    fields[:, 3] = offsets
    short = np.flatnonzero(lengths <= _INLINE)
    if len(short):
        starts, kept = offsets[short], lengths[short]
        inline = np.empty((len(short), 4), dtype=np.uint32)
        inline[:, 0] = kept
        for word in range(3):
            inline[:, 1 + word] = np.take(words, starts + 4 * word) & _KEEP[word][kept]
        views[short] = inline.view(VIEW).reshape(len(short))
    return views


def spread(views: np.ndarray, rows: np.ndarray, length: int) -> np.ndarray:
    """A column of `length` views: `views` at the positions `rows`, "" elsewhere."""
    column = arrow_memory.zeros(length, VIEW)
    column[rows] = views
    return column


def validity_bitmap(valid: np.ndarray) -> pa.Buffer:
    """Arrow's validity bitmap (bit i set: row i is not NULL) of a boolean array."""
    return pa.py_buffer(np.packbits(valid, bitorder="little"))


def _array(views: np.ndarray, validity: pa.Buffer | None, data: pa.Buffer) -> pa.Array:
    return pa.Array.from_buffers(pa.string_view(), len(views), [validity, pa.py_buffer(views), data])


class StringPool:
    """A fixed set of strings; `take` makes a column of them by index."""

    def __init__(self, strings: Sequence[str]) -> None:
        encoded = [s.encode() for s in strings]
        lengths = np.array([len(e) for e in encoded], dtype=np.int64)
        offsets = np.zeros(len(encoded), dtype=np.int64)
        np.cumsum(lengths[:-1], out=offsets[1:])
        joined = b"".join(encoded)
        self._data = pa.py_buffer(joined)
        self._views = _views(_words(np.frombuffer(joined, dtype=np.uint8)), offsets, lengths)

    def __len__(self) -> int:
        return len(self._views)

    def views(self, index: np.ndarray) -> np.ndarray:
        """The views of pool[index[i]]."""
        # mode="clip" (the indices are in range anyway): with the default, numpy gathers
        # into a temporary and copies it to `out`, many times slower.
        return np.take(self._views, index, out=arrow_memory.empty(len(index), VIEW), mode="clip")

    def array(self, views: np.ndarray, validity: pa.Buffer | None = None) -> pa.Array:
        """The column of `views` (into this pool), NULL where `validity` is unset."""
        return _array(views, validity, self._data)

    def take(self, index: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
        """pool[index[i]] per row; NULL where `valid` is False."""
        return self.array(self.views(index), None if valid is None else validity_bitmap(valid))


class TextPool:
    """Random text; `cut` makes a column of substrings of it."""

    def __init__(self, rng: np.random.Generator, size: int) -> None:
        alphabet = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz ", dtype=np.uint8)
        self._text = alphabet[rng.integers(0, len(alphabet), size)]
        self._data = pa.py_buffer(self._text.tobytes())
        self._words = _words(self._text)
        self.size = size

    def views(self, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """The views of text[starts[i] : starts[i] + lengths[i]] (starts + lengths <= size)."""
        return _views(self._words, starts, lengths)

    def array(self, views: np.ndarray) -> pa.Array:
        """The column of `views` (into this text)."""
        return _array(views, None, self._data)

    def cut(self, starts: np.ndarray, lengths: np.ndarray) -> pa.Array:
        """text[starts[i] : starts[i] + lengths[i]] per row (starts + lengths <= size)."""
        return self.array(self.views(starts, lengths))
