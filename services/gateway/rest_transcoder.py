"""The REST side of the gateway: HTTP/JSON in, a gRPC call to the owning backend, JSON out.

Everything is derived from the `google.api.http` rules (see `http_rules`); there is one
catch-all aiohttp route, never one handler per endpoint. Behaviour follows Envoy's
`grpc_json_transcoder` configured with `convert_grpc_status`, `print_options {
preserve_proto_field_names, always_print_primitive_fields }` and `request_validation_options
{ reject_unknown_method, reject_unknown_query_parameters }`:

- no rule for the method and path: 404; a request that does not fit the message: 400;
- a body over the size bound: 413;
- the call's status maps to HTTP as Envoy maps it, with a google.rpc.Status JSON body;
- unary responses print as JSON (`services.contract.json_rendering`), or pass through raw
  with their own content type when they are a `google.api.HttpBody`;
- server-streaming responses are sent as messages arrive, framed as Envoy frames them:
  by default one JSON array (`[{...},{...}]`); with `stream_sse_style_delimited` (Envoy's
  print option of that name, which `weir gateway` and envoy/envoy.yaml both set) each
  message is a server-sent event `data: {...}\n\n` under `Content-Type: text/event-stream`.
  An error before the first message is an ordinary error response, one after it ends the
  stream (the status line has gone out already, as with Envoy). `google.api.HttpBody`
  streams pass their bytes through raw either way;
- every backend call has a deadline (unary: the request timeout; streams: the stream
  timeout), so no request hangs; a client that goes away cancels its call (the aiohttp
  server must run with `handler_cancellation=True`, see `rest_runner`).

Nothing escapes as a traceback: an unexpected error is logged and answered with a JSON 500.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable

import grpc
from aiohttp import web
from google.api import httpbody_pb2
from google.protobuf import message_factory
from google.protobuf.descriptor import ServiceDescriptor

from services.contract.json_rendering import JsonRenderError, wire_to_json
from services.gateway.error_responses import error_response, rpc_error_response
from services.gateway.http_rules import HttpBinding, http_bindings
from services.gateway.metadata_forwarding import Metadata, request_metadata, response_headers
from services.gateway.openapi import EVENT_STREAM, OPENAPI_PATH, openapi_handler
from services.gateway.request_binding import RequestBindingError, build_request
from services.gateway.route_matcher import RouteMatcher

log = logging.getLogger(__name__)

JSON = "application/json"


def build_routes(bindings: Iterable[HttpBinding]) -> RouteMatcher[HttpBinding]:
    routes: RouteMatcher[HttpBinding] = RouteMatcher()
    for binding in bindings:
        routes.register(binding.http_method, binding.template, binding)
    return routes


def bindings_of(services: Iterable[ServiceDescriptor]) -> list[HttpBinding]:
    """Every HTTP binding of `services`."""
    return [binding for service in services for binding in http_bindings(service)]


class _ResponseBodyError(Exception):
    """The backend's response could not be turned into an HTTP body (Envoy: 502)."""


def _http_body(binding: HttpBinding, data: bytes) -> httpbody_pb2.HttpBody:
    """The google.api.HttpBody a response carries (the response itself or a field of it)."""
    try:
        message = message_factory.GetMessageClass(binding.method.output_type).FromString(data)
    except Exception as error:  # protobuf raises DecodeError, or RuntimeError from upb
        raise _ResponseBodyError(f"cannot decode {binding.method.output_type.full_name}: {error}") from error
    for field in binding.http_body_path or ():
        message = getattr(message, field.name)
    if not isinstance(message, httpbody_pb2.HttpBody):
        raise _ResponseBodyError(f"{binding.method.full_name} does not answer a google.api.HttpBody")
    return message


def _render(binding: HttpBinding, data: bytes) -> bytes:
    try:
        return wire_to_json(binding.method.output_type, data).encode("utf-8")
    except JsonRenderError as error:
        raise _ResponseBodyError(str(error)) from error


class RestTranscoder:
    def __init__(
        self,
        routes: RouteMatcher[HttpBinding],
        channel_for_service: Callable[[str], grpc.aio.Channel],
        *,
        request_timeout_s: float,
        stream_timeout_s: float,
        stream_sse_style_delimited: bool = False,
    ) -> None:
        self._routes = routes
        self._channel_for_service = channel_for_service
        self._request_timeout_s = request_timeout_s
        self._stream_timeout_s = stream_timeout_s
        self._sse = stream_sse_style_delimited

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """The aiohttp handler for every path and method."""
        try:
            return await self._transcode(request)
        except web.HTTPRequestEntityTooLarge as error:
            return error_response(
                grpc.StatusCode.RESOURCE_EXHAUSTED, error.text or "request body too large", status=413
            )
        except _ResponseBodyError as error:
            log.warning("%s %s: bad response from backend: %s", request.method, request.path, error)
            return error_response(
                grpc.StatusCode.INTERNAL, f"cannot transcode the response: {error}", status=502
            )
        except (asyncio.CancelledError, ConnectionResetError):
            raise
        except Exception:
            log.exception("%s %s failed", request.method, request.path)
            return error_response(grpc.StatusCode.INTERNAL, "internal error in the gateway")

    async def _transcode(self, request: web.Request) -> web.StreamResponse:
        raw_target = request.raw_path
        path, _, query = raw_target.partition("?")
        match = self._routes.lookup(request.method, path)
        if match is None:
            return error_response(grpc.StatusCode.NOT_FOUND, f"Could not resolve {path} to a method.")
        binding = match.route
        body = await request.read()
        try:
            message = build_request(binding, match.variables, query, body)
        except RequestBindingError as error:
            return error_response(grpc.StatusCode.INVALID_ARGUMENT, str(error))
        metadata = request_metadata(
            request.headers.items(), original_path=raw_target, original_method=request.method
        )
        channel = self._channel_for_service(binding.service_name)
        payload = message.SerializeToString()
        if binding.server_streaming:
            return await self._stream(request, binding, channel, payload, metadata)
        return await self._unary(binding, channel, payload, metadata)

    async def _unary(
        self, binding: HttpBinding, channel: grpc.aio.Channel, payload: bytes, metadata: Metadata
    ) -> web.StreamResponse:
        call = channel.unary_unary(binding.grpc_path)(
            payload, metadata=metadata, timeout=self._request_timeout_s
        )
        try:
            data = await call
            initial = await call.initial_metadata()
        except grpc.aio.AioRpcError as error:
            return rpc_error_response(error, response_headers(error.initial_metadata()))
        headers = [*response_headers(initial), ("grpc-status", "0")]
        if binding.http_body_path is not None:
            body = _http_body(binding, data)
            # The backend's content type goes out verbatim, parameters (`; charset=utf-8`) and
            # all, as Envoy passes it; aiohttp's `content_type=` argument refuses parameters.
            content_type = body.content_type or "application/octet-stream"
            return web.Response(body=body.data, headers=[*headers, ("Content-Type", content_type)])
        return web.Response(body=_render(binding, data), content_type=JSON, headers=headers)

    async def _stream(
        self,
        request: web.Request,
        binding: HttpBinding,
        channel: grpc.aio.Channel,
        payload: bytes,
        metadata: Metadata,
    ) -> web.StreamResponse:
        call = channel.unary_stream(binding.grpc_path)(
            payload, metadata=metadata, timeout=self._stream_timeout_s
        )
        try:
            return await self._relay(request, binding, call)
        finally:
            # However the relay ended (done, failed, or cancelled by the client going away,
            # even before the first message), the backend's stream ends with it.
            if not call.done():
                call.cancel()

    async def _relay(
        self, request: web.Request, binding: HttpBinding, call: grpc.aio.UnaryStreamCall
    ) -> web.StreamResponse:
        raw = binding.http_body_path is not None
        array = not raw and not self._sse
        try:
            # As Envoy: the response starts when the backend's headers arrive, so a quiet
            # stream (a log tail) still gets its status line at once. A raw HttpBody stream
            # waits for its first message, which carries the content type. A call that ends
            # without headers (trailers-only: an error before any message) answers as an error.
            initial = await call.initial_metadata()
            first = await call.read() if raw or call.done() else None
        except grpc.aio.AioRpcError as error:
            return rpc_error_response(error, response_headers(error.initial_metadata()))
        response = web.StreamResponse(headers=response_headers(initial))
        if raw and isinstance(first, bytes):
            response.content_type = _http_body(binding, first).content_type or "application/octet-stream"
        else:
            response.content_type = EVENT_STREAM if self._sse and not raw else JSON
        try:
            await response.prepare(request)
            if array:
                await response.write(b"[")
            message, count = (first if first is not None else await call.read()), 0
            while isinstance(message, bytes):
                if raw:
                    chunk = _http_body(binding, message).data
                elif self._sse:
                    chunk = b"data: " + _render(binding, message) + b"\n\n"
                else:
                    chunk = (b"," if count else b"") + _render(binding, message)
                await response.write(chunk)
                count += 1
                message = await call.read()
        except grpc.aio.AioRpcError as error:
            log.info(
                "%s ended with %s after the response started: %s",
                binding.grpc_path,
                error.code(),
                error.details(),
            )
        except _ResponseBodyError as error:
            log.warning("%s: bad streamed message: %s", binding.grpc_path, error)
        if array:
            await response.write(b"]")
        await response.write_eof()
        return response


def rest_runner(app: web.Application) -> web.AppRunner:
    """The runner to serve `app` with: handlers are cancelled when their client disconnects,
    so that a watcher that goes away cancels its upstream stream at once instead of when the
    next event fails to send (a quiet log tail may send nothing for a long time)."""
    return web.AppRunner(app, handler_cancellation=True)


def rest_application(
    transcoder: RestTranscoder, max_request_bytes: int, openapi_document: bytes | None = None
) -> web.Application:
    """The aiohttp application: one catch-all route into the transcoder, and the OpenAPI
    document at `GET /api/v1/openapi.json` when one is given."""
    app = web.Application(client_max_size=max_request_bytes)
    if openapi_document is not None:
        # Registered before the catch-all: aiohttp matches routes in registration order.
        app.router.add_get(OPENAPI_PATH, openapi_handler(openapi_document))
    # `[\s\S]`, not `.`: aiohttp matches the decoded path, and a `.` would not match a newline
    # (`%0A`), which then got aiohttp's own text/plain 404 instead of our JSON error.
    app.router.add_route("*", r"/{tail:[\s\S]*}", transcoder.handle)
    return app
