"""Distributed tracing of a Weir process: its TracerProvider, and the propagation of the trace
context across the gRPC calls between services.

A job's lifecycle crosses processes (the controller's CreatePipeline, its scheduling, the
workers' StartTasks), so its spans only tell a story when each process exports them under its
own service name and every internal call carries the caller's span. The context travels as
W3C `traceparent` (and `baggage`) gRPC metadata, injected and extracted here by hand: the
opentelemetry-instrumentation-grpc interceptors for grpc.aio are not used, as they have had
bugs with the aio API.

Exporters are chosen by configuration, off by default:

- OTLP/HTTP: the endpoint given (`--otlp-endpoint`, a collector's base URL such as
  `http://localhost:4318`; spans go to `<base>/v1/traces`) or, without it, the standard
  `OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, as the metrics
  service does for metrics. Batched, off the event loop.
- `WEIR_TRACES_FILE=path`: every process appends its finished spans to that file, one JSON
  object per line, as they end (for tests and debugging: no collector needed, and the file
  can be read while the platform runs). `weir up` passes its environment to its children, so
  one variable traces the whole platform into one file.

With neither, no provider is installed and the API's no-op tracer answers: a span then costs
a context switch of a non-recording object, and injection adds no metadata.
"""

from __future__ import annotations

import contextvars
import json
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.propagators.textmap import Getter
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.util.types import AttributeValue

TRACES_FILE_VARIABLE = "WEIR_TRACES_FILE"
ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
TRACES_PATH = "/v1/traces"

# gRPC metadata as grpc.aio hands it to a servicer (`invocation_metadata()`) or takes it in
# a call: (key, value) pairs, values bytes only for `-bin` keys.
GrpcMetadata = Sequence[tuple[str, str | bytes]]


def configure_tracing(
    service_name: str,
    otlp_endpoint: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    set_global: bool = True,
) -> TracerProvider | None:
    """Set up tracing for this process as `service_name` (`weir-controller`, `weir-worker`);
    returns the provider, which the caller shuts down on exit (that flushes batched spans),
    or None when no exporter is configured (tracing stays the API's no-op).

    `environ` defaults to the process environment; `set_global=False` leaves the global
    provider alone (it can be set only once per process), for tests."""
    environ = os.environ if environ is None else environ
    processors: list[SimpleSpanProcessor | BatchSpanProcessor] = []
    if otlp_endpoint:
        processors.append(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint.rstrip("/") + TRACES_PATH))
        )
    elif any(environ.get(name) for name in ENDPOINT_VARIABLES):
        processors.append(BatchSpanProcessor(OTLPSpanExporter()))  # reads OTEL_EXPORTER_OTLP_*
    if traces_file := environ.get(TRACES_FILE_VARIABLE):
        # Simple (synchronous) so that a span is in the file the moment it ends: a test reads
        # the file while the platform runs. One short append per span is cheap enough for
        # what this is for, debugging.
        processors.append(SimpleSpanProcessor(JsonLinesSpanExporter(Path(traces_file))))
    if not processors:
        return None
    # Shut down explicitly by the caller (at a clean stop) or, failing that, at exit.
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service_name}))
    for processor in processors:
        provider.add_span_processor(processor)
    if set_global:
        trace.set_tracer_provider(provider)
    return provider


def shutdown_tracing(provider: TracerProvider | None) -> None:
    """Flush and close what `configure_tracing` set up (nothing when it set up nothing)."""
    if provider is not None:
        provider.shutdown()


@contextmanager
def process_tracing(service_name: str, otlp_endpoint: str | None) -> Iterator[None]:
    """Tracing for the life of a process's main: set up on entry; flushed and closed on the
    way out, after everything inside stopped, so that the last spans get out too."""
    provider = configure_tracing(service_name, otlp_endpoint)
    try:
        yield
    finally:
        shutdown_tracing(provider)


class JsonLinesSpanExporter(SpanExporter):
    """Appends finished spans to a file, one JSON object per line.

    Several processes may share the file: it is opened with O_APPEND and each export is one
    write() of whole lines, so lines of different processes never interleave. A reader may
    still catch the last line half written: `read_spans` skips it."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd: int | None = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        # Spans end on the event loop and on worker threads alike.
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        data = "".join(json.dumps(span_record(span), default=str) + "\n" for span in spans).encode()
        with self._lock:
            if self._fd is None:
                return SpanExportResult.FAILURE
            try:
                os.write(self._fd, data)
            except OSError:
                return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True  # every export is written through at once


def span_record(span: ReadableSpan) -> dict[str, Any]:
    """The JSON object of one span in a traces file: ids as lowercase hex (as in traceparent),
    the parent's span id or None for a root span, and the exporting process's service name."""
    span_context = span.get_span_context()
    assert span_context is not None  # an SDK span always has one
    return {
        "name": span.name,
        "trace_id": trace.format_trace_id(span_context.trace_id),
        "span_id": trace.format_span_id(span_context.span_id),
        "parent_span_id": trace.format_span_id(span.parent.span_id) if span.parent else None,
        "service": span.resource.attributes.get(SERVICE_NAME),
        "kind": span.kind.name,
        "start_time_unix_nano": span.start_time,
        "end_time_unix_nano": span.end_time,
        "status": span.status.status_code.name,
        "status_description": span.status.description,
        "attributes": dict(span.attributes or {}),
        "events": [{"name": e.name, "attributes": dict(e.attributes or {})} for e in span.events],
        "links": [
            {
                "trace_id": trace.format_trace_id(link.context.trace_id),
                "span_id": trace.format_span_id(link.context.span_id),
            }
            for link in span.links
        ],
    }


def read_spans(path: Path) -> list[dict[str, Any]]:
    """The spans in a traces file so far; a line still being written is left for later."""
    if not path.exists():
        return []
    spans = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            spans.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return spans


class _MetadataGetter(Getter[GrpcMetadata]):
    """Reads propagation fields from gRPC metadata, a sequence of pairs rather than the
    mapping the default getter expects (a key may repeat)."""

    def get(self, carrier: GrpcMetadata, key: str) -> list[str] | None:
        values = [
            value.decode("ascii", "replace") if isinstance(value, bytes) else value
            for entry_key, value in carrier
            if entry_key == key
        ]
        return values or None

    def keys(self, carrier: GrpcMetadata) -> list[str]:
        return [key for key, _ in carrier]


_GETTER = _MetadataGetter()


def outgoing_metadata() -> tuple[tuple[str, str], ...]:
    """The current trace context as gRPC metadata for an outgoing call (`traceparent`, and
    `tracestate`/`baggage` when set); empty when no span is current, as with tracing off.
    gRPC requires lowercase keys: the W3C field names are."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return tuple(carrier.items())


def context_from_metadata(metadata: GrpcMetadata | None) -> otel_context.Context:
    """The caller's trace context carried in an incoming call's metadata (an empty context,
    so a new trace, when it carries none)."""
    return propagate.extract(metadata or (), getter=_GETTER)


@contextmanager
def server_span(
    tracer: trace.Tracer,
    name: str,
    metadata: GrpcMetadata | None,
    attributes: Mapping[str, AttributeValue] | None = None,
) -> Iterator[trace.Span]:
    """A SERVER span for an RPC being served, the child of the caller's span when the call's
    metadata carries one, current while the block runs. An exception escaping the block is
    recorded on the span and marks it as an error."""
    with tracer.start_as_current_span(
        name,
        context=context_from_metadata(metadata),
        kind=trace.SpanKind.SERVER,
        attributes=dict(attributes) if attributes else None,
    ) as span:
        yield span


def current_context() -> otel_context.Context:
    """The current trace context, to parent work that runs later in another task on it."""
    return otel_context.get_current()


def links_to(context: otel_context.Context | None) -> list[trace.Link]:
    """A link to the span current in `context`, if any: how a span that must start a trace
    of its own (a job's rescheduling, hours after it was created) still points at its origin."""
    if context is None:
        return []
    span_context = trace.get_current_span(context).get_span_context()
    return [trace.Link(span_context)] if span_context.is_valid else []


def without_trace_context() -> contextvars.Context:
    """A copy of the current contextvars with no trace context, for `asyncio.create_task(...,
    context=...)`: a long-lived task (a job's supervisor) must not run its whole life inside
    the span of the request that happened to start it."""
    copied = contextvars.copy_context()
    copied.run(otel_context.attach, otel_context.Context())
    return copied
