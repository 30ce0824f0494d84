"""One server interceptor that enforces `method_access` on every call a Weir process serves:
the bearer token on public methods, the cluster secret on internal ones.

A rejected call never reaches the servicer: the interceptor answers with a handler of the
same shape as the real one that only aborts, UNAUTHENTICATED for a missing or unknown
credential, PERMISSION_DENIED for a read token on a write (the gateway turns these into
401 and 403).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import grpc

from services.security.api_tokens import ApiTokens
from services.security.cluster_secret import METADATA_KEY, ClusterSecret
from services.security.method_access import Access, access_for

AUTHORIZATION_KEY = "authorization"
BEARER_PREFIX = "bearer "

Continuation = Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler | None]]


def _metadata_value(metadata: Sequence[tuple[str, str | bytes]] | None, key: str) -> str | bytes | None:
    for entry_key, value in metadata or ():
        if entry_key == key:
            return value
    return None


def bearer_token(metadata: Sequence[tuple[str, str | bytes]] | None) -> str | None:
    value = _metadata_value(metadata, AUTHORIZATION_KEY)
    if not isinstance(value, str) or value[: len(BEARER_PREFIX)].lower() != BEARER_PREFIX:
        return None
    return value[len(BEARER_PREFIX) :].strip() or None


class AccessInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, api_tokens: ApiTokens | None, cluster_secret: ClusterSecret | None) -> None:
        self._api_tokens = api_tokens
        self._cluster_secret = cluster_secret

    async def intercept_service(
        self, continuation: Continuation, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        refusal = self._refusal(
            access_for(handler_call_details.method), handler_call_details.invocation_metadata
        )
        return handler if refusal is None else _refusing_handler(handler, *refusal)

    def _refusal(
        self, access: Access, metadata: Sequence[tuple[str, str | bytes]] | None
    ) -> tuple[grpc.StatusCode, str] | None:
        if access is Access.OPEN:
            return None
        if access is Access.CLUSTER:
            if self._cluster_secret is None:
                return None
            presented = _metadata_value(metadata, METADATA_KEY)
            if presented is None or not self._cluster_secret.matches(presented):
                return (
                    grpc.StatusCode.UNAUTHENTICATED,
                    "internal method: the cluster secret is missing or wrong",
                )
            return None
        if self._api_tokens is None:
            return None
        token = bearer_token(metadata)
        if token is None:
            return grpc.StatusCode.UNAUTHENTICATED, "missing API token: send `authorization: Bearer <token>`"
        role = self._api_tokens.role_of(token)
        if role is None:
            return grpc.StatusCode.UNAUTHENTICATED, "unknown API token"
        if role < access.role:
            return grpc.StatusCode.PERMISSION_DENIED, f"this call needs an {access.role.name.lower()} token"
        return None


def _refusing_handler(
    handler: grpc.RpcMethodHandler, code: grpc.StatusCode, details: str
) -> grpc.RpcMethodHandler:
    """A handler with the shape of `handler` that aborts without reading the request."""

    async def refuse(_request: Any, context: grpc.aio.ServicerContext) -> None:
        await context.abort(code, details)

    make = {
        (False, False): grpc.unary_unary_rpc_method_handler,
        (False, True): grpc.unary_stream_rpc_method_handler,
        (True, False): grpc.stream_unary_rpc_method_handler,
        (True, True): grpc.stream_stream_rpc_method_handler,
    }[(handler.request_streaming, handler.response_streaming)]
    return make(
        refuse,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )
