"""Live views through the real gateway as server-sent events: the real `start_gateway` (REST
and the gRPC front door) in front of the real metrics servicers of `WatchJob` and
`TailJobLogs`, over a real SQLite store whose job states and log entries the tests write as the
controller would. Live-view timings are shortened so that the tests take well under a second
of streaming each; nothing else is replaced."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest

from services.clock import now_ms
from services.gateway import GatewayConfig, RunningGateway, start_gateway
from services.ids import new_id
from services.metrics.aggregates import TelemetryStore
from services.metrics.live_views import LiveViews, LiveViewTiming
from services.metrics.queries import MetricsQueries
from services.metrics.service import JobLogServicer, JobMetricsServicer
from services.serving import Servicer
from services.store import JobLogRecord, LogRetention
from tests.conftest import wait_for
from tests.gateway.harness import Backend, LoopThread, closed_port, start_backend
from tests.metrics.harness import JOB, JobDatabase, plan
from weir.v1 import logs_pb2, logs_pb2_grpc, metrics_pb2, metrics_pb2_grpc

TIMEOUT_S = 10.0
FAST = LiveViewTiming(state_poll_s=0.05, metrics_interval_s=0.2, tail_poll_s=0.05, tail_final_grace_s=0.2)
# Exactly Envoy's framing with `stream_sse_style_delimited`: `data: <json>\n\n` per message,
# nothing before, between or after.
SSE_BODY = re.compile(rb"(data: \{[^\n]*\}\n\n)*")


@dataclass
class LiveGateway:
    http: httpx.Client
    grpc_address: str
    live: LiveViews
    database: JobDatabase


@pytest.fixture
def live_gateway(tmp_path: Path) -> Iterator[LiveGateway]:
    database = JobDatabase(tmp_path, {JOB: plan()}, LogRetention(max_age_ms=None))
    queries = MetricsQueries(TelemetryStore(), database.catalog, database.job_logs)
    live = LiveViews(queries, database.catalog, FAST)
    servicers = [
        Servicer(
            metrics_pb2_grpc.add_JobMetricsServiceServicer_to_server,
            JobMetricsServicer(queries, live),
            "weir.v1.JobMetricsService",
        ),
        Servicer(
            logs_pb2_grpc.add_JobLogServiceServicer_to_server,
            JobLogServicer(queries, live),
            "weir.v1.JobLogService",
        ),
    ]
    loop = LoopThread()
    backend: Backend = loop.run(start_backend(servicers))
    gateway: RunningGateway = loop.run(
        start_gateway(
            GatewayConfig(
                controller_address=f"127.0.0.1:{closed_port()}",
                metrics_address=backend.address,
                http_port=0,
                grpc_port=0,
            )
        )
    )
    with httpx.Client(base_url=f"http://127.0.0.1:{gateway.http_port}", timeout=TIMEOUT_S) as http:
        yield LiveGateway(http, f"127.0.0.1:{gateway.grpc_port}", live, database)
    loop.run(gateway.stop())
    loop.run(backend.server.stop(None))
    loop.close()
    database.close()


def sse_events(response: httpx.Response) -> Iterator[dict[str, Any]]:
    """Each event of an SSE response as it arrives, checking its framing."""
    buffer = b""
    for chunk in response.iter_bytes():
        buffer += chunk
        while b"\n\n" in buffer:
            event, buffer = buffer.split(b"\n\n", 1)
            assert event.startswith(b"data: "), event
            yield json.loads(event.removeprefix(b"data: "))
    assert buffer == b"", f"a partial event at the end of the stream: {buffer!r}"


def move(database: JobDatabase, state: str) -> None:
    assert database.store.transition_job(JOB, state, now_ms()) is not None


def log_entry(message: str, level: str = "info") -> JobLogRecord:
    return JobLogRecord(
        id=new_id("log"), job_id=JOB, timestamp=now_ms(), level=level, message=message, details={"n": 1}
    )


def test_watch_job_is_a_stream_of_server_sent_events(live_gateway: LiveGateway) -> None:
    database = live_gateway.database
    with live_gateway.http.stream("GET", f"/api/v1/jobs/{JOB}/watch") as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/event-stream"
        events = sse_events(response)
        first = next(events)
        assert first["state"]["state"] == "Created"
        assert first["timestamp"] > 0
        snapshot = next(events)
        assert snapshot["metrics"]["records_in"] == 0
        assert [op["operator_id"] for op in snapshot["metrics"]["operators"]] == [
            "source_1",
            "filter_2",
            "sink_3",
        ]

        move(database, "Scheduling")
        move(database, "Running")
        running = next(e for e in events if "state" in e and e["state"]["state"] == "Running")
        assert running["state"]["start_time"] > 0
        move(database, "Stopping")
        move(database, "Stopped")
        rest = list(events)  # the stream ends by itself after the final state
    states = [e["state"]["state"] for e in rest if "state" in e]
    assert states[-1] == "Stopped"
    assert "finish_time" in rest[-2]["state"]
    assert "metrics" in rest[-1], "a last snapshot follows the final state"


def test_watch_body_is_exactly_sse_framed(live_gateway: LiveGateway) -> None:
    move(live_gateway.database, "Scheduling")
    move(live_gateway.database, "Failed")
    response = live_gateway.http.get(f"/api/v1/jobs/{JOB}/watch")
    assert response.status_code == 200
    assert SSE_BODY.fullmatch(response.content), response.content
    events = [json.loads(e.removeprefix(b"data: ")) for e in response.content.split(b"\n\n")[:-1]]
    assert [next(iter(e.keys() - {"timestamp"})) for e in events] == ["state", "metrics"]
    assert events[0]["state"]["state"] == "Failed"


def test_errors_before_the_first_event_are_json_errors(live_gateway: LiveGateway) -> None:
    unknown = live_gateway.http.get("/api/v1/jobs/job_01JDX3N4Q5R6S7T8V9W0X1Y2Z9/watch")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/json"
    assert unknown.json()["message"] == "job job_01JDX3N4Q5R6S7T8V9W0X1Y2Z9 not found"
    malformed = live_gateway.http.get("/api/v1/jobs/nope/logs/tail")
    assert malformed.status_code == 400
    bad_level = live_gateway.http.get(f"/api/v1/jobs/{JOB}/logs/tail", params={"level": "loud"})
    assert bad_level.status_code == 400


def test_tail_sends_stored_then_new_entries_with_filters(live_gateway: LiveGateway) -> None:
    job_logs = live_gateway.database.job_logs
    job_logs.append([log_entry("scheduled"), log_entry("slow sink", "warn")], [], now_ms())
    with live_gateway.http.stream(
        "GET", f"/api/v1/jobs/{JOB}/logs/tail", params={"since": 0, "level": "warn"}
    ) as response:
        assert response.headers["content-type"] == "text/event-stream"
        events = sse_events(response)
        assert next(events)["message"] == "slow sink"
        job_logs.append([log_entry("checkpoint 1 completed"), log_entry("still slow", "warn")], [], now_ms())
        entry = next(events)
        assert entry["message"] == "still slow"
        assert entry["level"] == "warn"
        assert entry["details"] == {"n": 1}


def test_tail_without_since_sends_only_new_entries(live_gateway: LiveGateway) -> None:
    job_logs = live_gateway.database.job_logs
    job_logs.append([log_entry("before the tail")], [], now_ms())
    with live_gateway.http.stream("GET", f"/api/v1/jobs/{JOB}/logs/tail") as response:
        wait_for(lambda: live_gateway.live.open_streams == 1, what="the tail to start")
        job_logs.append([log_entry("after the tail")], [], now_ms())
        assert next(sse_events(response))["message"] == "after the tail"


def test_client_disconnect_cancels_the_upstream_stream(live_gateway: LiveGateway) -> None:
    """A quiet tail sends nothing, so only the gateway noticing the disconnect can end it."""
    with live_gateway.http.stream("GET", f"/api/v1/jobs/{JOB}/logs/tail") as response:
        assert response.status_code == 200
        wait_for(lambda: live_gateway.live.open_streams == 1, what="the tail to start")
    wait_for(lambda: live_gateway.live.open_streams == 0, timeout_s=5, what="the upstream tail to end")


def test_front_door_forwards_watch_and_its_cancellation(live_gateway: LiveGateway) -> None:
    with grpc.insecure_channel(live_gateway.grpc_address) as channel:
        stub = metrics_pb2_grpc.JobMetricsServiceStub(channel)
        call = stub.WatchJob(metrics_pb2.WatchJobRequest(job_id=JOB), timeout=TIMEOUT_S)
        first = next(call)
        assert first.WhichOneof("event") == "state"
        assert next(call).WhichOneof("event") == "metrics"
        assert live_gateway.live.open_streams == 1
        call.cancel()
        wait_for(lambda: live_gateway.live.open_streams == 0, timeout_s=5, what="the upstream watch to end")

        tail = logs_pb2_grpc.JobLogServiceStub(channel).TailJobLogs(
            logs_pb2.TailJobLogsRequest(job_id=JOB, level=99), timeout=TIMEOUT_S
        )
        with pytest.raises(grpc.RpcError) as raised:
            next(tail)
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
