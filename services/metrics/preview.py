"""The rows a preview sink received, for `GET /jobs/{id}/output`.

A preview sink can receive millions of rows; the service keeps only the most recent
`capacity` of them (a ring) plus the count of every row received, which the API reports as
`total_records`. Rows are kept as the JSON text the worker sent (compact, and re-parsed only
for the at most one page a query returns) after checking that each is a JSON object.
"""

from __future__ import annotations

import itertools
import json
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class PreviewRow:
    # Milliseconds since the Unix epoch when the sink received the row.
    timestamp: float
    row_json: str


def is_json_object(text: str) -> bool:
    """Whether `text` is a JSON object (a row must have named columns)."""
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


class PreviewBuffer:
    """The most recent rows of one sink operator, oldest first, and the count of all rows."""

    def __init__(self, capacity: int, max_row_bytes: int) -> None:
        self._rows: deque[PreviewRow] = deque(maxlen=capacity)
        self._max_row_bytes = max_row_bytes
        self.total_received = 0

    def add(self, timestamp: float, rows_json: Iterable[str], received: int) -> int:
        """Keep the valid rows and count `received` (at least the rows given); return how
        many rows were rejected (not JSON objects, or too long)."""
        rows = list(rows_json)
        rejected = 0
        for text in rows:
            if len(text) > self._max_row_bytes or not is_json_object(text):
                rejected += 1
                continue
            self._rows.append(PreviewRow(timestamp, text))
        self.total_received += max(received, len(rows))
        return rejected

    def __len__(self) -> int:
        return len(self._rows)

    def page(self, offset: int, limit: int) -> list[PreviewRow]:
        """Kept rows oldest first, skipping `offset`, at most `limit`."""
        return list(itertools.islice(self._rows, offset, offset + limit))
