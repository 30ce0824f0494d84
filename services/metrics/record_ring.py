"""A bounded ring of a job's error or log records, queried newest first with filters.

Records arrive from many workers slightly out of order; a query orders by (timestamp, id),
ids being ULIDs that sort by creation, so ties and clock-equal records still come out in a
stable order. The ring forgets the oldest-arrived record once full.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class RecordRing(Generic[T]):
    def __init__(self, capacity: int, order_key: Callable[[T], tuple[float, str]]) -> None:
        self._records: deque[T] = deque(maxlen=capacity)
        self._order_key = order_key

    def append(self, record: T) -> None:
        self._records.append(record)

    def __len__(self) -> int:
        return len(self._records)

    def newest(self, keep: Callable[[T], bool], limit: int) -> tuple[list[T], bool]:
        """The `limit` newest records that `keep` accepts, and whether more matched."""
        matching = (record for record in self._records if keep(record))
        top = heapq.nlargest(limit + 1, matching, key=self._order_key)
        return top[:limit], len(top) > limit
