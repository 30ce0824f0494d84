"""The gRPC side of the gateway: one public address for gRPC clients, as Envoy gives them.

Every method of every public service is forwarded to the backend that owns the service as
raw bytes (nothing is parsed or re-serialized), unary and server-streaming alike, with the
caller's metadata and deadline (a call without a deadline gets the gateway's default).
Status, message, initial and trailing metadata, rich error details
(`grpc-status-details-bin`) come back unchanged. Anything else — internal services, unknown
methods, client-streaming methods (none are public) — is UNIMPLEMENTED, as gRPC answers for
a method no handler claims.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import grpc
from google.protobuf.descriptor import ServiceDescriptor

from services.gateway.metadata_forwarding import grpc_forwarded_metadata, grpc_forwarded_trailers
from services.serving import Servicer

log = logging.getLogger(__name__)

UnaryBehavior = Callable[[bytes, grpc.aio.ServicerContext], Awaitable[bytes]]
StreamBehavior = Callable[[bytes, grpc.aio.ServicerContext], AsyncIterator[bytes]]


class ForwardingHandler(grpc.GenericRpcHandler):
    """Forwards the methods of one public service to the channel of its backend."""

    def __init__(
        self,
        service: ServiceDescriptor,
        channel: grpc.aio.Channel,
        *,
        request_timeout_s: float,
        stream_timeout_s: float,
    ) -> None:
        self.service_name = service.full_name
        self._channel = channel
        self._request_timeout_s = request_timeout_s
        self._stream_timeout_s = stream_timeout_s
        self._handlers: dict[str, grpc.RpcMethodHandler] = {}
        for method in service.methods:
            path = f"/{service.full_name}/{method.name}"
            if method.client_streaming:
                continue
            if method.server_streaming:
                self._handlers[path] = grpc.unary_stream_rpc_method_handler(self._stream(path))
            else:
                self._handlers[path] = grpc.unary_unary_rpc_method_handler(self._unary(path))

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        return self._handlers.get(handler_call_details.method)

    def _timeout(self, context: grpc.aio.ServicerContext, default: float) -> float:
        remaining = context.time_remaining()
        return default if remaining is None else max(remaining, 0.0)

    def _unary(self, path: str) -> UnaryBehavior:
        async def forward(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
            call = self._channel.unary_unary(path)(
                request,
                metadata=grpc_forwarded_metadata(context.invocation_metadata()),
                timeout=self._timeout(context, self._request_timeout_s),
            )
            try:
                response: bytes = await call
            except grpc.aio.AioRpcError as error:
                await _abort_like(context, error)
                raise  # not reached: abort raises
            await context.send_initial_metadata(grpc_forwarded_metadata(await call.initial_metadata()))
            context.set_trailing_metadata(grpc_forwarded_trailers(await call.trailing_metadata()))
            return response

        return forward

    def _stream(self, path: str) -> StreamBehavior:
        async def forward(request: bytes, context: grpc.aio.ServicerContext) -> AsyncIterator[bytes]:
            call = self._channel.unary_stream(path)(
                request,
                metadata=grpc_forwarded_metadata(context.invocation_metadata()),
                timeout=self._timeout(context, self._stream_timeout_s),
            )
            try:
                sent_initial = False
                async for message in call:
                    if not sent_initial:
                        await context.send_initial_metadata(
                            grpc_forwarded_metadata(await call.initial_metadata())
                        )
                        sent_initial = True
                    yield message
                context.set_trailing_metadata(grpc_forwarded_trailers(await call.trailing_metadata()))
            except grpc.aio.AioRpcError as error:
                await _abort_like(context, error)
            finally:
                if not call.done():
                    call.cancel()

        return forward


async def _abort_like(context: grpc.aio.ServicerContext, error: grpc.aio.AioRpcError) -> None:
    """End the caller's call exactly as the backend ended ours."""
    await context.abort(
        error.code(),
        error.details() or "",
        trailing_metadata=tuple(grpc_forwarded_trailers(error.trailing_metadata())),
    )


def front_door_servicers(handlers: list[ForwardingHandler]) -> list[Servicer]:
    """The handlers as `serving.Servicer`s, so that `start_server` adds them with health
    checking and reflection for each public service."""

    def add(handler: ForwardingHandler, server: grpc.aio.Server) -> None:
        server.add_generic_rpc_handlers([handler])

    return [
        Servicer(add_to_server=add, servicer=handler, service_name=handler.service_name)
        for handler in handlers
    ]
