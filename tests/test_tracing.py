"""services/tracing.py: exporter selection, the JSON-lines traces file, and the trace context's
round trip through gRPC metadata (what links a controller span to a worker's)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from services import tracing


def file_provider(path: Path, service: str = "weir-test") -> TracerProvider:
    provider = tracing.configure_tracing(
        service, environ={tracing.TRACES_FILE_VARIABLE: str(path)}, set_global=False
    )
    assert provider is not None
    return provider


def test_nothing_configured_is_no_provider() -> None:
    assert tracing.configure_tracing("weir-test", environ={}, set_global=False) is None


def test_an_otlp_endpoint_flag_or_variable_configures_a_provider() -> None:
    for provider in (
        tracing.configure_tracing("weir-test", "http://127.0.0.1:4318/", environ={}, set_global=False),
        tracing.configure_tracing(
            "weir-test",
            environ={"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"},
            set_global=False,
        ),
    ):
        assert provider is not None
        provider.shutdown()  # no span was recorded: nothing is sent


@pytest.fixture
def collector() -> Iterator[tuple[str, list[tuple[str, bytes]]]]:
    """A stand-in OTLP/HTTP collector on a free loopback port: its base URL, and the
    (path, body) of every POST it received."""
    received: list[tuple[str, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append((self.path, self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:  # keep test output clean
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_spans_go_to_the_otlp_endpoint_and_shutdown_flushes_them(
    collector: tuple[str, list[tuple[str, bytes]]],
) -> None:
    endpoint, received = collector
    provider = tracing.configure_tracing("weir-controller", endpoint, environ={}, set_global=False)
    assert provider is not None
    with provider.get_tracer("test").start_as_current_span("CreatePipeline"):
        pass
    # Batched: nothing need have been sent yet; a clean shutdown sends what is pending.
    tracing.shutdown_tracing(provider)
    assert [path for path, _ in received] == ["/v1/traces"]
    body = received[0][1]  # protobuf: the names are in it as plain strings
    assert b"CreatePipeline" in body and b"weir-controller" in body


def test_no_current_span_injects_no_metadata() -> None:
    assert tracing.outgoing_metadata() == ()


def test_context_round_trips_through_grpc_metadata(tmp_path: Path) -> None:
    provider = file_provider(tmp_path / "spans.jsonl")
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("caller") as caller:
        metadata = tracing.outgoing_metadata()
    caller_context = caller.get_span_context()

    keys = [key for key, _ in metadata]
    assert "traceparent" in keys
    assert all(key == key.lower() for key in keys)  # gRPC refuses uppercase metadata keys

    # As a server receives it: among other metadata, values possibly bytes.
    incoming = [("x-weir-cluster-secret", "s"), *((k, v.encode()) for k, v in metadata)]
    extracted = trace.get_current_span(tracing.context_from_metadata(incoming)).get_span_context()
    assert extracted.trace_id == caller_context.trace_id
    assert extracted.span_id == caller_context.span_id
    assert extracted.is_remote

    with tracing.server_span(tracer, "served", incoming, {"job.id": "job_1"}) as served:
        served_context = served.get_span_context()
    provider.shutdown()

    spans = {s["name"]: s for s in tracing.read_spans(tmp_path / "spans.jsonl")}
    assert served_context.trace_id == caller_context.trace_id
    assert spans["served"]["parent_span_id"] == spans["caller"]["span_id"]
    assert spans["served"]["trace_id"] == spans["caller"]["trace_id"]
    assert spans["served"]["kind"] == "SERVER"
    assert spans["served"]["attributes"] == {"job.id": "job_1"}


def test_server_span_without_incoming_context_starts_a_trace(tmp_path: Path) -> None:
    provider = file_provider(tmp_path / "spans.jsonl")
    with tracing.server_span(provider.get_tracer("test"), "root", None):
        pass
    provider.shutdown()
    [root] = tracing.read_spans(tmp_path / "spans.jsonl")
    assert root["parent_span_id"] is None


def test_traces_file_has_one_json_object_per_span_from_every_process(tmp_path: Path) -> None:
    path = tmp_path / "traces" / "spans.jsonl"  # its directory is created
    controller, worker = file_provider(path, "weir-controller"), file_provider(path, "weir-worker")
    tracer = controller.get_tracer("test")
    with (
        tracer.start_as_current_span("parent", attributes={"task.count": 2}),
        tracer.start_as_current_span("child") as child,
    ):
        child.add_event("StartTasks", {"worker.id": "wrk_1"})
    with worker.get_tracer("test").start_as_current_span("other", attributes={"ids": ("a", "b")}):
        pass
    controller.shutdown()
    worker.shutdown()

    lines = path.read_text().splitlines()
    assert len(lines) == 3
    records = [json.loads(line) for line in lines]
    # Spans are written as they end: children before their parents.
    assert [r["name"] for r in records] == ["child", "parent", "other"]
    child_record, parent_record, other_record = records
    assert parent_record["service"] == "weir-controller"
    assert other_record["service"] == "weir-worker"
    assert child_record["parent_span_id"] == parent_record["span_id"]
    assert child_record["trace_id"] == parent_record["trace_id"] != other_record["trace_id"]
    assert len(parent_record["trace_id"]) == 32 and len(parent_record["span_id"]) == 16
    assert parent_record["parent_span_id"] is None
    assert parent_record["attributes"] == {"task.count": 2}
    assert other_record["attributes"] == {"ids": ["a", "b"]}
    assert child_record["events"] == [{"name": "StartTasks", "attributes": {"worker.id": "wrk_1"}}]
    assert parent_record["end_time_unix_nano"] >= parent_record["start_time_unix_nano"] > 0


def test_read_spans_skips_a_line_still_being_written(tmp_path: Path) -> None:
    path = tmp_path / "spans.jsonl"
    assert tracing.read_spans(path) == []
    path.write_text('{"name": "done"}\n{"name": "half')
    assert tracing.read_spans(path) == [{"name": "done"}]


def test_a_task_started_without_trace_context_keeps_a_link_to_its_origin(tmp_path: Path) -> None:
    """What the job supervisor does: the creating request's context is kept, the task runs
    without it (a span it opens is a root) and can still parent or link to the origin."""
    provider = file_provider(tmp_path / "spans.jsonl")
    tracer = provider.get_tracer("test")

    async def detached() -> bool:
        return trace.get_current_span().get_span_context().is_valid

    async def main() -> tuple[bool, otel_context.Context]:
        with tracer.start_as_current_span("request"):
            origin = tracing.current_context()
            task = asyncio.create_task(detached(), context=tracing.without_trace_context())
            still_current = trace.get_current_span().get_span_context().is_valid
        assert still_current  # the caller's own context is untouched
        return await task, origin

    sees_span, origin = asyncio.run(main())
    assert not sees_span
    with tracer.start_as_current_span("later", links=tracing.links_to(origin)):
        pass
    provider.shutdown()
    spans = {s["name"]: s for s in tracing.read_spans(tmp_path / "spans.jsonl")}
    assert spans["later"]["links"] == [
        {"trace_id": spans["request"]["trace_id"], "span_id": spans["request"]["span_id"]}
    ]
    assert tracing.links_to(None) == []
    assert tracing.links_to(otel_context.Context()) == []
