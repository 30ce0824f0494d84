"""The body of `GET /jobs/{id}/output`: preview rows as a `JobOutput` in JSON, or as CSV.

Row order follows the spec's example (the first record, `id: 1`, at the job's start time):
oldest kept row first, so `offset` pages forward through the kept rows in arrival order.

CSV has a header row of the union of the returned rows' columns, in order of first
appearance; a row lacking a column leaves it empty, `null` is empty, strings are written
as-is, and numbers, booleans, objects and arrays as their JSON text. Rows come straight from
the JSON the worker sent, so integers stay integers (a `Struct` would turn them into doubles).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from google.api import httpbody_pb2

from services.contract.json_rendering import message_to_json
from services.metrics.preview import PreviewRow
from weir.v1 import metrics_pb2

JSON_CONTENT_TYPE = "application/json"
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"


def _parse(rows: Sequence[PreviewRow]) -> list[tuple[float, dict[str, Any]]]:
    return [(row.timestamp, json.loads(row.row_json)) for row in rows]


def render_json(
    operator_id: str, rows: Sequence[PreviewRow], total_records: int, has_more: bool
) -> httpbody_pb2.HttpBody:
    output = metrics_pb2.JobOutput(
        operator_id=operator_id, total_records=float(total_records), has_more=has_more
    )
    for timestamp, record in _parse(rows):
        item = output.data.add(timestamp=timestamp)
        item.record.update(record)
    return httpbody_pb2.HttpBody(content_type=JSON_CONTENT_TYPE, data=message_to_json(output).encode())


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def render_csv(rows: Sequence[PreviewRow]) -> httpbody_pb2.HttpBody:
    records = [record for _, record in _parse(rows)]
    columns: dict[str, None] = {}
    for record in records:
        columns.update(dict.fromkeys(record))
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    if columns:
        writer.writerow(columns)
        for record in records:
            writer.writerow(_cell(record.get(column)) for column in columns)
    return httpbody_pb2.HttpBody(content_type=CSV_CONTENT_TYPE, data=text.getvalue().encode())
