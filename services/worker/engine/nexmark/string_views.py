"""String columns as Arrow string views into shared buffers: no string bytes are copied.

Nexmark's text fields (names, emails, urls, padding) are drawn from fixed pools; as Arrow
`string_view` arrays a column is 16 bytes per row (length, a 4-byte prefix and an offset
into the pool's buffer, or the bytes inline when at most 12 long) pointing into the pool.
Polars holds strings in this same layout, so a generated batch becomes a Polars frame
without converting its strings (converting plain Arrow strings costs more than
generating them).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

_INLINE = 12
# A view as one numpy element, so gathering views is one copy per row.
_VIEW = np.dtype([("length", "<u4"), ("word0", "<u4"), ("word1", "<u4"), ("word2", "<u4")])


def _words(data: np.ndarray) -> np.ndarray:
    """The little-endian uint32 made of the 4 bytes starting at each position of `data`."""
    padded = np.concatenate([data, np.zeros(3, dtype=np.uint8)]).astype(np.uint32)
    return padded[:-3] | padded[1:-2] << 8 | padded[2:-1] << 16 | padded[3:] << 24


def _mask(lengths: np.ndarray, word: int) -> np.ndarray:
    """Keeps the bytes of word `word` (0..2) that lie within each string."""
    kept = np.clip(lengths - 4 * word, 0, 4).astype(np.uint64) * np.uint64(8)
    return ((np.uint64(1) << kept) - np.uint64(1)).astype(np.uint32)


def _views(words: np.ndarray, offsets: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The views of the strings data[offset : offset + length], `words = _words(data)`.

    Up to 12 bytes: the bytes inline (zero-padded); longer: a 4-byte prefix, buffer 0
    and the offset."""
    last = len(words) - 1
    views = np.empty(len(lengths), dtype=_VIEW)
    views["length"] = lengths
    views["word0"] = words[np.minimum(offsets, last)] & _mask(lengths, 0)
    short = lengths <= _INLINE
    views["word1"] = np.where(short, words[np.minimum(offsets + 4, last)] & _mask(lengths, 1), 0)
    views["word2"] = np.where(short, words[np.minimum(offsets + 8, last)] & _mask(lengths, 2), offsets)
    return views


def _array(views: np.ndarray, valid: np.ndarray | None, data: pa.Buffer) -> pa.Array:
    validity = None if valid is None else pa.array(valid, pa.bool_()).buffers()[1]
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

    def take(self, index: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
        """pool[index[i]] per row; NULL where `valid` is False."""
        return _array(self._views[index], valid, self._data)


class TextPool:
    """Random text; `cut` makes a column of substrings of it."""

    def __init__(self, rng: np.random.Generator, size: int) -> None:
        alphabet = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz ", dtype=np.uint8)
        self._text = alphabet[rng.integers(0, len(alphabet), size)]
        self._data = pa.py_buffer(self._text.tobytes())
        self._words = _words(self._text)
        self.size = size

    def cut(self, starts: np.ndarray, lengths: np.ndarray) -> pa.Array:
        """text[starts[i] : starts[i] + lengths[i]] per row (starts + lengths <= size)."""
        return _array(_views(self._words, starts, lengths), None, self._data)
