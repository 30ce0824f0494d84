"""Client side of the internal plane: every call on a channel made by `serving` carries the
cluster secret, whatever stub or call shape the caller uses.

The secret goes on every call, public ones included: a public server ignores it (it is
never a substitute for an API token), and the alternative — knowing at each call site
whether the method is internal — is exactly the per-caller bookkeeping this avoids.
"""

from __future__ import annotations

from typing import Any

import grpc

from services.security.cluster_secret import METADATA_KEY, ClusterSecret


def _with_secret(details: grpc.aio.ClientCallDetails, secret: ClusterSecret) -> grpc.aio.ClientCallDetails:
    metadata = grpc.aio.Metadata(*(details.metadata or ()))
    metadata[METADATA_KEY] = secret.value
    return grpc.aio.ClientCallDetails(
        method=details.method,
        timeout=details.timeout,
        metadata=metadata,
        credentials=details.credentials,
        wait_for_ready=details.wait_for_ready,
    )


class _AttachSecretUnaryUnary(grpc.aio.UnaryUnaryClientInterceptor):
    def __init__(self, secret: ClusterSecret) -> None:
        self._secret = secret

    async def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(_with_secret(details, self._secret), request)


class _AttachSecretUnaryStream(grpc.aio.UnaryStreamClientInterceptor):
    def __init__(self, secret: ClusterSecret) -> None:
        self._secret = secret

    async def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(_with_secret(details, self._secret), request)


class _AttachSecretStreamUnary(grpc.aio.StreamUnaryClientInterceptor):
    def __init__(self, secret: ClusterSecret) -> None:
        self._secret = secret

    async def intercept_stream_unary(self, continuation: Any, details: Any, request_iterator: Any) -> Any:
        return await continuation(_with_secret(details, self._secret), request_iterator)


class _AttachSecretStreamStream(grpc.aio.StreamStreamClientInterceptor):
    def __init__(self, secret: ClusterSecret) -> None:
        self._secret = secret

    async def intercept_stream_stream(self, continuation: Any, details: Any, request_iterator: Any) -> Any:
        return await continuation(_with_secret(details, self._secret), request_iterator)


def cluster_secret_interceptors(secret: ClusterSecret) -> list[grpc.aio.ClientInterceptor]:
    """One interceptor per call shape: grpc.aio picks interceptors by the shape they implement."""
    return [
        _AttachSecretUnaryUnary(secret),
        _AttachSecretUnaryStream(secret),
        _AttachSecretStreamUnary(secret),
        _AttachSecretStreamStream(secret),
    ]
