"""`GetJobOutput`: the preview ring as JSON (`JobOutput`) and CSV, with limit/offset."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

import grpc
import pytest

from services.metrics.limits import TelemetryLimits
from weir.v1 import dataflow_pb2, metrics_pb2, telemetry_pb2

from .harness import JOB, OTHER_JOB, ManualClock, MetricsServer, plan, report

CSV = metrics_pb2.GetJobOutputRequest.csv


def _rows(first: int, count: int) -> list[str]:
    return [json.dumps({"id": i, "message": f"m{i}", "value": i + 0.5}) for i in range(first, first + count)]


def _batch(rows: list[str], timestamp: float, received: int | None = None) -> telemetry_pb2.PreviewBatch:
    return telemetry_pb2.PreviewBatch(
        job_id=JOB,
        operator_id="sink_3",
        timestamp=timestamp,
        rows_json=rows,
        received=len(rows) if received is None else received,
    )


def _output(server: MetricsServer, **fields: object) -> tuple[str, bytes]:
    body = server.metrics.GetJobOutput(metrics_pb2.GetJobOutputRequest(job_id=JOB, **fields))
    return body.content_type, body.data


@pytest.fixture
def small_ring(clock: ManualClock) -> Iterator[MetricsServer]:
    """A server keeping 5 preview rows per operator."""
    running = MetricsServer({JOB: plan()}, clock, TelemetryLimits(preview_rows_per_operator=5)).start()
    try:
        yield running
    finally:
        running.stop()


def test_json_output_pages_the_kept_rows_oldest_first(server: MetricsServer) -> None:
    server.send(
        report("wrk_a", 1, preview=[_batch(_rows(1, 3), 1_704_067_200_000.0)]),
        report("wrk_a", 2, preview=[_batch(_rows(4, 3), 1_704_067_201_000.0)]),
    )
    content_type, data = _output(server)
    assert content_type == "application/json"
    body = json.loads(data)
    assert body["operator_id"] == "sink_3"
    assert body["total_records"] == 6
    assert [row["record"]["id"] for row in body["data"]] == [1, 2, 3, 4, 5, 6]
    assert body["data"][0] == {
        "timestamp": 1704067200000,
        "record": {"id": 1, "message": "m1", "value": 1.5},
    }
    # Integral numbers print without ".0" (timestamps, ids, totals).
    assert b'"timestamp":1704067200000,' in data and b'"total_records":6' in data

    body = json.loads(_output(server, limit=2, offset=3)[1])
    assert [row["record"]["id"] for row in body["data"]] == [4, 5]
    assert [row["timestamp"] for row in body["data"]] == [1704067201000, 1704067201000]
    assert body["has_more"] is True
    assert json.loads(_output(server, limit=3, offset=3)[1])["has_more"] is False
    assert json.loads(_output(server, offset=6)[1])["data"] == []


def test_the_ring_keeps_the_newest_rows_and_counts_all(small_ring: MetricsServer) -> None:
    small_ring.send(
        report("wrk_a", 1, preview=[_batch(_rows(1, 4), 1.0, received=40)]),
        report("wrk_a", 2, preview=[_batch(_rows(5, 4), 2.0, received=4)]),
    )
    body = json.loads(_output(small_ring, operator_id="sink_3")[1])
    assert [row["record"]["id"] for row in body["data"]] == [4, 5, 6, 7, 8]
    assert body["total_records"] == 44


def test_rows_that_are_not_objects_are_counted_not_kept(server: MetricsServer) -> None:
    server.send(report("wrk_a", 1, preview=[_batch(['{"id": 1}', "[1, 2]", "{not json", '{"id": 2}'], 1.0)]))
    body = json.loads(_output(server)[1])
    assert [row["record"]["id"] for row in body["data"]] == [1, 2]
    assert body["total_records"] == 4


def test_csv_output(server: MetricsServer) -> None:
    rows = [
        json.dumps({"id": 1, "name": 'a, "quoted"', "tags": ["x", "y"]}),
        json.dumps({"id": 2, "nested": {"k": 1}, "flag": True, "missing": None}),
        json.dumps({"id": 3, "name": "c", "value": 0.25}),
    ]
    server.send(report("wrk_a", 1, preview=[_batch(rows, 1.0)]))
    content_type, data = _output(server, format=CSV)
    assert content_type == "text/csv; charset=utf-8"
    table = list(csv.reader(io.StringIO(data.decode())))
    assert table == [
        ["id", "name", "tags", "nested", "flag", "missing", "value"],
        ["1", 'a, "quoted"', '["x","y"]', "", "", "", ""],
        ["2", "", "", '{"k":1}', "true", "", ""],
        ["3", "c", "", "", "", "", "0.25"],
    ]
    assert data.startswith(b"id,name,tags,nested,flag,missing,value\r\n")

    _, data = _output(server, format=CSV, limit=1, offset=1)
    assert list(csv.reader(io.StringIO(data.decode()))) == [
        ["id", "nested", "flag", "missing"],
        ["2", '{"k":1}', "true", ""],
    ]


def test_output_of_a_job_without_rows(server: MetricsServer) -> None:
    body = json.loads(_output(server)[1])
    assert body == {"data": [], "operator_id": "sink_3", "total_records": 0, "has_more": False}
    assert _output(server, format=CSV) == ("text/csv; charset=utf-8", b"")


def test_operator_filter_and_default_sink(clock: ManualClock) -> None:
    op = dataflow_pb2.Operator
    two_sinks = dataflow_pb2.Dataflow(
        operators=[
            op(id="source_1", name="Impulse", kind=op.KIND_SOURCE, parallelism=1),
            op(id="sink_2", name="Blackhole", kind=op.KIND_SINK, parallelism=1),
            op(id="sink_3", name="Preview", kind=op.KIND_SINK, parallelism=1),
        ]
    )
    running = MetricsServer({JOB: two_sinks, OTHER_JOB: plan()}, clock).start()
    try:
        running.send(
            report(
                "wrk_a",
                1,
                preview=[
                    _batch(_rows(1, 2), 1.0),
                    telemetry_pb2.PreviewBatch(
                        job_id=OTHER_JOB, operator_id="sink_3", rows_json=_rows(100, 1), received=1
                    ),
                ],
            )
        )
        # Without operator_id: the first sink that has rows.
        body = json.loads(_output(running)[1])
        assert (body["operator_id"], body["total_records"]) == ("sink_3", 2)
        body = json.loads(_output(running, operator_id="sink_2")[1])
        assert body == {"data": [], "operator_id": "sink_2", "total_records": 0, "has_more": False}
        with pytest.raises(grpc.RpcError) as raised:
            _output(running, operator_id="sink_9")
        assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    finally:
        running.stop()


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"limit": 0}, "limit must be between 1 and 1000"),
        ({"limit": 1001}, "limit must be between 1 and 1000"),
        ({"offset": -1}, "offset must not be negative"),
        ({"format": 7}, "format must be json or csv"),
    ],
)
def test_bad_paging_is_invalid_argument(server: MetricsServer, fields: dict[str, int], expected: str) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        _output(server, **fields)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert expected in raised.value.details()


def test_limit_bounds_are_inclusive(server: MetricsServer) -> None:
    server.send(report("wrk_a", 1, preview=[_batch(_rows(1, 3), 1.0)]))
    assert len(json.loads(_output(server, limit=1)[1])["data"]) == 1
    assert len(json.loads(_output(server, limit=1000)[1])["data"]) == 3
